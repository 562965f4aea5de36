"""The "ok - ..." / "not ok - ..." lines of the Python test helpers, which the shell scripts
count (test/lib.sh's format): check() prints one, with indented diagnostics after a failure,
and counts the failures in `failed`."""

failed = 0


def check(name, condition, detail=""):
    global failed
    if condition:
        print(f"ok - {name}")
        return True
    failed += 1
    print(f"not ok - {name}")
    for line in str(detail).splitlines()[:12]:
        print(f"#   {line[:240]}")
    return False
