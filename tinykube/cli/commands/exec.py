"""`tinykube exec [-i] [-t] [-c CONTAINER] POD | TYPE/NAME -- COMMAND [ARG...]`.

Opens `pods/{name}/exec` as a WebSocket with the `v5.channel.k8s.io` subprotocol,
exactly as kubectl does: every binary message starts with a channel byte (0 stdin,
1 stdout, 2 stderr, 3 status, 4 resize, 255 close). Output is copied to our
stdout/stderr; with `-i` our stdin goes to channel 0 and its end is sent as
`[255, 0]`; with `-t` the local terminal is put in raw mode (restored on exit) and
its size is sent on channel 4, again on every SIGWINCH. The Status on channel 3
carries the exit code: like kubectl, a non-zero code is printed as
`command terminated with exit code N` and becomes our own exit code.

The WebSocket is `tinykube.client.websocket`, the client the API server also uses
to reach kubelets.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/exec/exec.go,
staging/src/k8s.io/client-go/tools/remotecommand/websocket.go
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import threading
from typing import Any

from tinykube.cli.commands.logs import pods_for
from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import ClientConfig, error_from_response
from tinykube.client.websocket import HandshakeError, WebSocketClient, connect_to_server, stop_task

STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


async def open_stream(config: ClientConfig, path: str, query: list[tuple[str, str]],
                      subprotocol: str) -> WebSocketClient:
    """A WebSocket to the API server. A refused upgrade carries the server's Status
    (404 for a missing pod, 400 for a missing container): it is raised as the
    APIStatusError it is, so it prints as kubectl's `Error from server (...)`."""
    try:
        return await connect_to_server(config, path, query, [subprotocol])
    except HandshakeError as err:
        raise error_from_response(err.status_code, err.body) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("exec", help="run a command in a container")
    parser.add_argument("target", metavar="POD | TYPE/NAME")
    parser.add_argument("command_words", nargs="*", metavar="COMMAND")
    parser.add_argument("-c", "--container", help="the container (default: the only one)")
    parser.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the command")
    parser.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the command's output")
    parser.set_defaults(func=run, takes_extra_args=True)


def exit_code_of(status: dict[str, Any]) -> tuple[int, str]:
    """(exit code, message to print) from the channel-3 Status."""
    if status.get("status") == "Success":
        return 0, ""
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                code = int(cause.get("message", "1"))
                return code, f"command terminated with exit code {code}"
    return 1, f"error: {status.get('message') or 'exec failed'}"


def _stdin_reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> None:
    """A daemon thread: blocking reads of fd 0 work for ttys, pipes and files alike."""
    while True:
        try:
            data = os.read(0, 65536)
        except OSError:
            data = b""
        loop.call_soon_threadsafe(queue.put_nowait, data)
        if not data:
            return


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    command = list(args.command_words) + list(getattr(args, "extra_args", []) or [])
    if not command:
        raise CLIError("you must specify at least one command for the container")
    async with ctx.client() as client:
        pod = (await pods_for(ctx, client, args.target, None))[0]
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CLIError(f"cannot exec into a container in a completed pod; current phase is {phase}")
    name = pod["metadata"]["name"]
    tty = args.tty and args.stdin and sys.stdin.isatty()
    if args.tty and not tty and not args.quiet:
        print("Unable to use a TTY - input is not a terminal or the right kind of file", file=ctx.err)
    query = [("command", word) for word in command] + [("stdout", "true")]
    query += [("stderr", "true")] if not tty else [("tty", "true")]
    query += [("stdin", "true")] if args.stdin else []
    query += [("container", args.container)] if args.container else []
    ws = await open_stream(ctx.config, f"/api/v1/namespaces/{ctx.namespace}/pods/{name}/exec",
                           query, "v5.channel.k8s.io")
    restore = _raw_terminal() if tty else None
    try:
        return await _session(ctx, ws, args.stdin, tty)
    finally:
        if restore is not None:
            restore()
        await ws.close()


async def _session(ctx: CLIContext, ws: WebSocketClient, stdin: bool, tty: bool) -> int:
    loop = asyncio.get_running_loop()
    tasks = []
    if stdin:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        threading.Thread(target=_stdin_reader, args=(loop, queue), daemon=True).start()

        async def pump_stdin() -> None:
            while data := await queue.get():
                await ws.send(bytes([STDIN]) + data)
            await ws.send(bytes([CLOSE, STDIN]))

        tasks.append(asyncio.create_task(pump_stdin()))
    if tty:
        async def send_size() -> None:
            size = shutil.get_terminal_size()
            await ws.send(bytes([RESIZE]) + json.dumps({"Width": size.columns,
                                                        "Height": size.lines}).encode())

        await send_size()
        loop.add_signal_handler(signal.SIGWINCH, lambda: tasks.append(asyncio.create_task(send_size())))
    out = getattr(ctx.out, "buffer", None) or sys.stdout.buffer
    err = getattr(ctx.err, "buffer", None) or sys.stderr.buffer
    code, message = 0, ""
    try:
        while (data := await ws.receive()) is not None:
            channel, payload = data[0], data[1:]
            if channel == STDOUT:
                out.write(payload)
                out.flush()
            elif channel == STDERR:
                err.write(payload)
                err.flush()
            elif channel == STATUS and payload:
                code, message = exit_code_of(json.loads(payload))
    finally:
        if tty:
            loop.remove_signal_handler(signal.SIGWINCH)
        for task in tasks:
            await stop_task(task)
    if message:
        print(message, file=ctx.err)
    return code


def _raw_terminal() -> Any:
    """Put the terminal in raw mode; return the function that restores it."""
    import termios
    import tty as tty_module

    saved = termios.tcgetattr(0)
    tty_module.setraw(0)
    return lambda: termios.tcsetattr(0, termios.TCSADRAIN, saved)
