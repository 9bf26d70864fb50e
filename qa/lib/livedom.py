#!/usr/bin/python3
"""The DOM of a page after it has run for a while in real time.

    livedom.py SECONDS URL OUT.html [CHROMIUM ARGS...]

Headless Chromium's --dump-dom with --virtual-time-budget runs the page's
timers in virtual time, much faster than the clock: a page polling pmproxy
every second sees a few real seconds of samples, whatever the budget. Here
Chromium loads URL and is left alone for SECONDS of real time; then the
page's DOM is read through the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ended by a NUL byte, commands on the
child's fd 3, answers on its fd 4) and written to OUT.html. Exit 1, with
the reason on stderr, when Chromium fails or does not answer.
"""
import json
import os
import subprocess
import sys
import tempfile
import time


class DevTools:
    def __init__(self, to_chromium, from_chromium):
        self.w, self.r, self.buf, self.next_id = to_chromium, from_chromium, b"", 0

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium closed the pipe during {method}")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    seconds, url, out = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    cmd_r, cmd_w = os.pipe()
    ans_r, ans_w = os.pipe()

    def child_fds():
        # copies first: a pipe end may be fd 3 or 4 already (not inheritable)
        r, w = os.dup(cmd_r), os.dup(ans_w)
        os.dup2(r, 3)
        os.dup2(w, 4)

    with tempfile.TemporaryDirectory() as profile:
        chromium = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", *sys.argv[4:], url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
        os.close(cmd_r)
        os.close(ans_w)
        try:
            time.sleep(seconds)
            if chromium.poll() is not None:
                raise RuntimeError(f"chromium ended with status {chromium.returncode}")
            dt = DevTools(cmd_w, ans_r)
            pages = [t for t in dt.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if not pages:
                raise RuntimeError("no page")
            session = dt.call("Target.attachToTarget", targetId=pages[0]["targetId"], flatten=True)["sessionId"]
            dom = dt.call("Runtime.evaluate", session, expression="document.documentElement.outerHTML",
                          returnByValue=True)["result"]["value"]
            with open(out, "w", encoding="utf-8") as f:
                f.write(dom)
            dt.call("Browser.close")
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            print(f"livedom.py: {e}", file=sys.stderr)
            return 1
        finally:
            try:
                chromium.wait(timeout=10)
            except subprocess.TimeoutExpired:
                chromium.kill()
                chromium.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
