#!/bin/sh
# One request of tinykube/echo (busybox httpd runs this per request, in parallel).
burn_ms=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*burn=\([0-9]*\).*/\1/p')
if [ -n "$burn_ms" ]; then
    # /proc/uptime counts in centiseconds: spin until MS have passed.
    read start _ < /proc/uptime
    start=${start%.*}${start#*.}
    until read now _ < /proc/uptime && [ $(( ${now%.*}${now#*.} - start )) -ge $(( burn_ms / 10 )) ]; do :; done
fi
printf 'Content-Type: text/plain\r\n\r\n'
printf 'pod=%s path=%s client=%s%s\n' "${POD_NAME:-$(hostname)}" "$REQUEST_URI" "$REMOTE_ADDR" "${MESSAGE:+ message=$MESSAGE}"
