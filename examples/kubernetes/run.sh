#!/usr/bin/env bash
# Kubernetes has no job dependencies: run each Indexed Job, wait until it is Complete (or
# Failed), then its merge. Usage: examples/kubernetes/run.sh build|evaluate  (kubectl on PATH).
set -euo pipefail
cd "$(dirname "$0")"
what=${1:?build or evaluate}
job=augment-$what
merge=$([ "$what" = build ] && echo augment-merge || echo augment-evaluate-merge)
kubectl apply -f shared-volume.yaml
kubectl delete job "$job" "$merge" --ignore-not-found
kubectl apply -f "$what-job.yaml"
# Complete when every index succeeded; Failed when an index used up backoffLimitPerIndex or
# podFailurePolicy said FailJob (exit 2: the recipe or flags are wrong).
until state=$(kubectl get job "$job" -o jsonpath='{.status.conditions[?(@.status=="True")].type}') &&
  [[ $state == *Complete* || $state == *Failed* ]]; do sleep 10; done
[[ $state == *Complete* ]] || { echo "$job failed ($state): kubectl describe job/$job" >&2; exit 1; }
kubectl apply -f "$([ "$what" = build ] && echo merge-job.yaml || echo evaluate-merge-job.yaml)"
kubectl wait --for=condition=Complete "job/$merge" --timeout=1h
kubectl logs "job/$merge"
