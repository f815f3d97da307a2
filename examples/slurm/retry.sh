# Sourced by the sbatch scripts here. `run_augment ARGS...` runs augment and acts on its exit
# status (docs/CLUSTER.md):
#   0   done.
#   2   the user's mistake (bad recipe, flags, paths): fail at once; no retry can help.
#   75  retryable (I/O error, full disk, out of memory, a lost worker, SIGTERM): run the same
#       command again, in this allocation, after RETRY_DELAY seconds, at most MAX_RETRIES times;
#       it resumes where it stopped. Retrying here, rather than `RequeueExit=75` in slurm.conf,
#       keeps the task's record clean: Slurm remembers a requeued task's failed exit, and a
#       `--dependency=afterok` merge would then never start.
#   130 interrupted (SIGINT).
# A node failure or a preemption is Slurm's to handle: `#SBATCH --requeue` runs the task again
# elsewhere, and it resumes the same way.
AUGMENT=${AUGMENT:-augment}
MAX_RETRIES=${MAX_RETRIES:-3}
RETRY_DELAY=${RETRY_DELAY:-10}

run_augment() {
  local status attempt=0
  while :; do
    status=0
    $AUGMENT "$@" || status=$?
    [ "$status" -eq 75 ] && [ "$attempt" -lt "$MAX_RETRIES" ] || break
    attempt=$((attempt + 1))
    echo "augment exited 75 (retryable): retry $attempt of $MAX_RETRIES in ${RETRY_DELAY}s" >&2
    sleep "$RETRY_DELAY"
  done
  [ "$status" -eq 2 ] && echo "augment exited 2 (the input or the flags are wrong): not retrying" >&2
  return "$status"
}
