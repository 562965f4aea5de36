#!/usr/bin/python3
"""HTTP tests of `clickmill serve`, against an independent reading of the model.

usage: serve_check.py URL MODEL.h5 EVENTS.csv EXPECTED_STREAM.csv MAX_CONNECTIONS MAX_BODY

URL is a running server of MODEL.h5. Probabilities from POST /predict are compared with a
forest scorer written here from model.h5's /nodes table (h5py), tree by tree as the trees
store them; /model with model.h5's attributes and tables; POST /events, with EVENTS.csv sent
in pieces cut inside sessions, with EXPECTED_STREAM.csv (what `predict --stream` printed for the
same file and the server's session options). Then every kind of bad request must get its 4xx
and leave the server answering. Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
"""
import http.client
import json
import socket
import sys
import time
import urllib.parse

import h5py

import checks
from checks import check


class Server:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method, path, body=None, headers=None, timeout=10):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()

    def json(self, method, path, body=None):
        status, kind, data = self.request(method, path, body)
        try:
            return status, kind, json.loads(data)
        except ValueError:
            return status, kind, None


def text(value):
    return value.decode() if isinstance(value, bytes) else value


class Forest:
    """The model's trees from /nodes, scored the way the trees are defined: x[feature] <=
    threshold goes left; the probability is the mean of the trees' leaf values, added up in
    tree order."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            nodes = f["nodes"][()]
            self.dicts = {name: [text(v) for v in f[f"dictionary_{name}"]["value"]]
                          for name in ("category", "product", "brand")}
            self.threshold = float(f.attrs["threshold"])
            self.attrs = {k: f.attrs[k] for k in f.attrs}
            self.features = [text(r["name"]) for r in f["features"][()]]
            self.metrics = {text(r["set"]): r for r in f["metrics"][()]}
        self.trees = {}
        for row in nodes:
            self.trees.setdefault(int(row["tree"]), {})[int(row["node"])] = (
                int(row["feature"]), int(row["left"]), int(row["right"]),
                float(row["threshold"]), float(row["value"]))

    def score(self, x):
        total = 0.0
        for t in sorted(self.trees):
            tree, k = self.trees[t], 0
            while tree[k][0] >= 0:
                feature, left, right, threshold, _ = tree[k]
                k = left if x[feature] <= threshold else right
            total += tree[k][4]
        return total / len(self.trees) if self.trees else 0.0


def main():
    url, model_path, events_path, expected_path = sys.argv[1:5]
    max_connections, max_body = int(sys.argv[5]), int(sys.argv[6])
    server = Server(url)
    forest = Forest(model_path)
    names = forest.features

    # --- /health and /model
    status, kind, health = server.json("GET", "/health")
    check("GET /health: 200, JSON, status ok",
          status == 200 and kind.startswith("application/json") and health
          and health.get("status") == "ok", (status, kind, health))
    status, kind, model = server.json("GET", "/model")
    check("GET /model: 200 and JSON", status == 200 and model is not None, (status, kind))
    model = model or {}
    check("GET /model: the 16 features in model.h5's order",
          [f["name"] for f in model.get("features", [])] == names)
    check("GET /model: trees, depth, seed and threshold as model.h5's attributes",
          model.get("trees") == int(forest.attrs["trees"])
          and model.get("max_depth") == int(forest.attrs["max_depth"])
          and model.get("seed") == int(forest.attrs["seed"])
          and model.get("threshold") == forest.threshold, model)
    test = forest.metrics["test"]
    check("GET /model: test ROC AUC and confusion matrix as model.h5's metrics",
          model.get("test", {}).get("roc_auc") == float(test["roc_auc"])
          and [model.get("test", {}).get(k) for k in ("tp", "fp", "tn", "fn")]
          == [int(test[k]) for k in ("tp", "fp", "tn", "fn")], model.get("test"))
    check("GET /model: dictionary sizes", model.get("dictionaries") == {
        k: len(v) for k, v in forest.dicts.items()}, model.get("dictionaries"))

    # --- POST /predict: probabilities against the independent scorer
    cases = [
        {"category": forest.dicts["category"][0], "product": forest.dicts["product"][0],
         "brand": forest.dicts["brand"][0], "price": 199.99, "hour": 14, "weekday": 2,
         "events_before": 6, "views_before": 5, "products_viewed": 3, "categories_viewed": 1,
         "views_of_product": 2, "carts_before": 0, "purchases_before": 0,
         "seconds_in_session": 420, "seconds_since_last": 35, "price_vs_viewed": 1.2},
        {"category": forest.dicts["category"][-1], "brand": forest.dicts["brand"][-1],
         "price": 5},
        {"price": 0.01},
        {"category": "no such category", "product": "nor product", "brand": "nor brand",
         "price": 12345.67, "hour": 23, "weekday": 6, "seconds_since_last": -1},
    ]
    for case in cases:
        x = [0.0] * len(names)
        x[names.index("seconds_since_last")] = -1.0
        unseen = []
        for d in ("category", "product", "brand"):
            values = forest.dicts[d]
            if d in case and case[d] in values:
                x[names.index(d)] = float(values.index(case[d]))
            else:
                x[names.index(d)] = float(len(values))
                unseen.append(d)
        for key, value in case.items():
            if key not in ("category", "product", "brand"):
                x[names.index(key)] = round(value * 100) / 100 if key == "price" else float(value)
        want = forest.score(x)
        status, _, answer = server.json("POST", "/predict", json.dumps(case))
        check(f"POST /predict {json.dumps(case)[:80]}: probability {want!r} from the trees",
              status == 200 and answer and answer["probability"] == want
              and answer["purchase"] == (want >= forest.threshold)
              and answer["unseen"] == unseen
              and [answer["features"][n] for n in names] == x, (status, answer, want, unseen))

    # --- POST /events: the stream's answers, with sessions kept across requests
    lines = open(events_path, "rb").read().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    cuts = [0, len(rows) // 3, len(rows) // 3 + 1, 2 * len(rows) // 3, len(rows)]
    while max(len(b"".join(rows[a:b])) for a, b in zip(cuts, cuts[1:])) > max_body:
        cuts = sorted(set(cuts + [(a + b) // 2 for a, b in zip(cuts, cuts[1:])]))
    got = []
    for i in range(len(cuts) - 1):
        body = b"".join(rows[cuts[i]:cuts[i + 1]])
        if i == 1:
            body = header + body  # a header may come first in any request
        status, kind, data = server.request("POST", "/events", body)
        if status != 200 or not kind.startswith("text/csv"):
            check(f"POST /events part {i + 1}: 200 text/csv", False, (status, kind, data[:200]))
            break
        out = data.decode().splitlines()
        check(f"POST /events part {i + 1}: starts with the header",
              out[:1] == ["event_time,user_session,product_id,probability"], out[:1])
        got += out[1:]
    expected = open(expected_path).read().splitlines()[1:]
    check(f"POST /events in {len(cuts) - 1} requests cut inside sessions: the {len(expected)} "
          "scored carts equal predict --stream's", got == expected,
          "\n".join(f"got {g!r} want {w!r}" for g, w in zip(got, expected) if g != w)
          or f"got {len(got)} lines, want {len(expected)}")

    # --- bad requests: a clear 4xx, and the server still answers
    bad = [
        ("POST", "/predict", b"{not json", 400, "not valid JSON"),
        ("POST", "/predict", b"[1, 2]", 400, "expected a JSON object"),
        ("POST", "/predict", b"", 400, "not valid JSON"),
        ("POST", "/predict", b'{"prize": 3}', 400, "unknown feature 'prize'"),
        ("POST", "/predict", b'{"price": "cheap"}', 400, "'price' must be a number"),
        ("POST", "/predict", b'{"price": -1}', 400, "'price' must be a number"),
        ("POST", "/predict", b'{"hour": 24}', 400, "'hour' must be a number from 0 to 23"),
        ("POST", "/predict", b'{"weekday": 2.5}', 400, "'weekday'"),
        ("POST", "/predict", b'{"price": 1e400}', 400, ""),
        ("POST", "/predict", b'{"brand": 7}', 400, "'brand' must be a text"),
        ("POST", "/predict", b'{"brand": "' + b"x" * 300 + b'"}', 400, "at most 250 bytes"),
        ("POST", "/predict", b'{"price": 1, "price": 2}', 400, "duplicate"),
        ("POST", "/predict", b'{"price": 1}\xff', 400, ""),
        ("GET", "/predict", None, 405, "use POST"),
        ("POST", "/health", b"", 405, "use GET"),
        ("DELETE", "/", None, 405, "use GET"),
        ("GET", "/nothing/here", None, 404, "no such page"),
        ("GET", "/../../etc/passwd", None, 404, "no such page"),
        ("POST", "/events", header + rows[0] + b"2019-10-01 00:00:00 UTC,view,1\n", 400,
         "line 3"),
        ("POST", "/events", b"2019-13-45 00:00:00 UTC,view,1,2,a.b,c,1.00,3,s\n", 400,
         "line 1"),
    ]
    for method, path, body, want, message in bad:
        status, kind, answer = server.json(method, path, body)
        label = f"{method} {path} {(body or b'')[:40]!r}"
        check(f"{label}: {want} with a JSON error{' saying ' + repr(message) if message else ''}",
              status == want and answer and message.lower() in answer.get("error", "").lower(),
              (status, kind, answer))
    # a body announced larger than the limit: answered on the headers, before the body
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n{\"price\": 1" % (max_body + 1))
    reply = s.recv(4096)
    s.close()
    check("a body announced over the limit: 413 before it is sent",
          reply.startswith(b"HTTP/1.1 413") and b"too large" in reply, reply[:200])
    # a body sent in chunks, with no length announced: read, dropped past the limit, 413
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    for _ in range(max_body // len(chunk) + 2):
        s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    s.sendall(b"0\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    check("a chunked body over the limit: 413 at its end",
          reply.startswith(b"HTTP/1.1 413") and b"too large" in reply, reply[:200])
    # one that never ends is cut off, and the server goes on
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    cut = False
    try:
        for _ in range(17 * max_body // len(chunk) + 64):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        cut = True
    s.close()
    check("a chunked body that never ends: the connection is cut past 16 times the limit", cut)
    # a failed /events request changed no session: the same file again gives the carts again
    # only for sessions it has not seen (none), so the whole file now scores nothing new
    again = []
    for i in range(len(cuts) - 1):
        status, _, data = server.request("POST", "/events", b"".join(rows[cuts[i]:cuts[i + 1]]))
        again += data.decode().splitlines()[1:] if status == 200 else [f"status {status}"]
    check("after the bad requests, POST /events of the same file again: no cart scored twice",
          again == [], again[:5])

    # --- requests a web page elsewhere could make the browser send
    for headers, label in (({"Host": "evil.example"}, "a Host that is not loopback (DNS rebinding)"),
                           ({"Origin": "http://evil.example"}, "another Origin (cross-site request)"),
                           ({"Origin": "null"}, "an Origin of null")):
        status, kind, data = server.request("POST", "/events", header + rows[0], headers=headers)
        check(f"{label}: 403, nothing read", status == 403 and b"error" in data, (status, data[:200]))
    status, _, data = server.request("GET", "/health", headers={
        "Origin": f"http://{server.host}:{server.port}"})
    check("the page's own Origin: answered", status == 200, (status, data[:200]))
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("GET", "/predict")
    response = connection.getresponse()
    check("405 says what is allowed (Allow: POST)", response.status == 405
          and response.getheader("Allow") == "POST", response.getheaders())
    response.read()
    connection.close()
    status, _, answer = server.json("POST", "/events", b"event_time,event_type,product_id\n" + rows[0])
    check("POST /events with a header that lacks columns: 400 naming line 1",
          status == 400 and answer and "line 1" in answer["error"], (status, answer))

    # --- too many connections: idle ones up to the limit, then one more request
    idle = []
    try:
        for _ in range(max_connections):
            s = socket.create_connection((server.host, server.port), timeout=5)
            idle.append(s)
        time.sleep(0.3)
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        connection.request("GET", "/health")
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        check(f"{max_connections} idle connections open: the next request gets 429 with "
              "Retry-After", response.status == 429 and "too many" in answer.get("error", "")
              and response.getheader("Retry-After") == "1", (response.status, answer))
        connection.close()
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    status, _, _ = server.request("GET", "/health")
    check("the idle connections closed: requests are answered again", status == 200, status)
    # a client that sends half a request and goes away
    s = socket.create_connection((server.host, server.port), timeout=5)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"pri")
    s.close()
    s = socket.create_connection((server.host, server.port), timeout=5)
    s.sendall(b"GARBAGE\r\n\r\n")
    s.recv(1000)
    s.close()
    status, _, health = server.json("GET", "/health")
    check("after a half request and a garbage line: still healthy",
          status == 200 and health["status"] == "ok", (status, health))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
