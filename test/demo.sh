#!/usr/bin/env bash
# `make demo`: makes a small data set, analyses it on 2 local ranks and prints the summary.
# Until `clickmill generate` exists, the data set comes from the small deterministic sketch of
# the REES46 format below (a few products per category, sessions of views, some carts and
# purchases over three days).
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
data=demo-data/events.csv
mkdir -p demo-data
awk -v rows="${DEMO_ROWS:-50000}" 'BEGIN {
  srand(46);
  split("electronics.smartphone electronics.audio.headphone electronics.video.tv appliances.kitchen.washer appliances.environment.vacuum computers.notebook furniture.living_room.sofa apparel.shoes", codes, " ");
  split("samsung apple xiaomi huawei lg sony bosch acer", brands, " ");
  for (p = 1; p <= 400; p++) {
    code[p] = (p % 3 == 0) ? "" : codes[1 + int(rand() * rand() * 8)];
    brand[p] = (p % 7 == 0) ? "" : brands[1 + int(rand() * rand() * 8)];
    price[p] = sprintf("%.2f", 5 + rand() * rand() * 1500);
    category[p] = sprintf("20530135556318826%02d", p % 40);
  }
  print "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
  t = 1569888000; n = 0;
  while (n < rows) {
    user = 512000000 + int(rand() * 4000);
    session = sprintf("%08x-%04x-4%03x-a%03x-%012x", int(rand() * 4294967295), int(rand() * 65535), int(rand() * 4095), int(rand() * 4095), int(rand() * 281474976710655));
    p = 1 + int(rand() * rand() * 400);
    events = 1 + int(rand() * rand() * 12);
    for (e = 0; e < events && n < rows; e++) {
      t += int(rand() * 6);
      type = "view"; r = rand();
      if (r < 0.05) type = "cart"; else if (r < 0.08) type = "purchase";
      print strftime("%Y-%m-%d %H:%M:%S UTC", t, 1) "," type "," (1000000 + p) "," category[p] "," code[p] "," brand[p] "," price[p] "," user "," session;
      n++;
      if (rand() < 0.3) p = 1 + int(rand() * rand() * 400);
    }
  }
}' > "$data.tmp"
mv "$data.tmp" "$data"
echo "demo: $(($(wc -l < "$data") - 1)) events in $data"
echo "demo: mpirun -np 2 bin/clickmill analyze --out demo-out $data"
echo
mpirun --oversubscribe -np 2 bin/clickmill analyze --car-min-carts 100 --out demo-out "$data"
