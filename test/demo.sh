#!/usr/bin/env bash
# `make demo`: generates a small month, analyses it on 2 local ranks and prints the summary,
# trains a model, makes an event store whose analysis it compares with the CSV's, and ends
# with the HTML report of the analysis and the model.
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rows=${DEMO_ROWS:-300000}
mkdir -p demo-data
echo "demo: mpirun -np 2 bin/clickmill generate --rows $rows -o demo-data/events.csv"
mpirun --oversubscribe -np 2 bin/clickmill generate --rows "$rows" -o demo-data/events.csv
echo "demo: mpirun -np 2 bin/clickmill analyze --car-min-carts 300 --out demo-out demo-data/events.csv"
echo
mpirun --oversubscribe -np 2 bin/clickmill analyze --car-min-carts 300 --out demo-out demo-data/events.csv
echo
echo "demo: mpirun -np 2 bin/clickmill train --model demo-out/model.h5 demo-data/events.csv"
echo
mpirun --oversubscribe -np 2 bin/clickmill train --model demo-out/model.h5 demo-data/events.csv
echo
echo "demo: mpirun -np 2 bin/clickmill ingest -o demo-data/events.h5 demo-data/events.csv"
mpirun --oversubscribe -np 2 bin/clickmill ingest -o demo-data/events.h5 demo-data/events.csv
echo "demo: mpirun -np 2 bin/clickmill analyze -q --format csv --out demo-out/from-store demo-data/events.h5"
mpirun --oversubscribe -np 2 bin/clickmill analyze -q --format csv --out demo-out/from-store \
    demo-data/events.h5 > /dev/null
if diff -r demo-out/tables demo-out/from-store/tables > /dev/null; then
    echo "demo: the tables from the event store equal those from the CSV file"
else
    echo "demo: the tables from the event store differ from those from the CSV file" >&2
    exit 1
fi
echo
echo "demo: bin/clickmill report demo-out --model demo-out/model.h5 --car-min-carts 300"
bin/clickmill report demo-out --model demo-out/model.h5 --car-min-carts 300
echo "demo: open demo-out/report.html in a browser: a chart and a sentence for every analysis"
