#!/usr/bin/env bash
# Regenerates docs/img/headline-speedup.png, the README's headline chart: renders the report of a
# filter run folder (default: the run the README's table comes from) and copies its speedup chart.
# Usage: npm run headline-chart [-- results/filter/<run-id>]
set -euo pipefail
cd "$(dirname "$0")/../.."
run="${1:-results/filter/2026-12-07T22-49-20Z-e6760b}"
npm run -s report -- "$run"
cp "$run/charts/speedup-vs-selectivity.png" docs/img/headline-speedup.png
echo "docs/img/headline-speedup.png <- $run/charts/speedup-vs-selectivity.png"
