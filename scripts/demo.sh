#!/usr/bin/env bash
# make demo: set-up and build are done by make before this runs.
echo "demo: groundwork is built (./gw), but the demo run (generate shapes world, train"
echo "demo: LaConvNet, evaluate, write the report) arrives with the LaConvNet model."
echo "demo: not ready yet; meanwhile try: ./gw bench --threads 2, or make test"
exit 1
