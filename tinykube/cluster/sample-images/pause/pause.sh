# The sandbox's only process. PID 1 ignores signals without a handler, hence the trap;
# sleeping in the background lets `wait` return as soon as a signal arrives.
trap 'exit 0' TERM INT
while :; do
    /bin/busybox sleep 86400 &
    wait $!
done
