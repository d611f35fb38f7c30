set -e
ls /no/such/file
echo unreachable
