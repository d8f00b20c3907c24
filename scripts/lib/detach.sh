# Sourced by the scripts that start long-lived processes.
#
# close_inherited_fds: closes every descriptor above 2 of the current shell.
# Call it in a subshell right before `exec`ing a daemon, so the daemon holds no
# lock, pipe or file of the script that started it (a postmaster that kept the
# bootstrap's lock made every later ./dev wait forever).
close_inherited_fds() {
  local entry fd
  for entry in /proc/"$BASHPID"/fd/*; do
    fd="${entry##*/}"
    if ((fd > 2)); then
      eval "exec $fd>&-" 2>/dev/null || true
    fi
  done
}
