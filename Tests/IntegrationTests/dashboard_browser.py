"""Opens the dmboot dashboard in Debian's chromium (headless, through
chromium-driver and python3-selenium) as a supervisor would, and reports what
the page shows as JSON on stdout.

argv: URL SCREENSHOT FEED_COMMAND...
It waits for station line-a with 3 cards today and station line-b stopped,
keeps a screenshot, then runs FEED_COMMAND (one more card through pcscd) and
waits for line-a to show 4 cards without the page being reloaded."""
import json
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

url, screenshot, feed = sys.argv[1], sys.argv[2], sys.argv[3:]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1250",
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="dmboot-chromium-")):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(what, condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what + "; the page shows: " + driver.execute_script("return document.body.innerText;"))


# What a person reads on a station's card, taken in one script run: the page
# redraws every 2 s, and elements found one by one could be replaced between two reads.
READ_STATION = """
const card = document.querySelector('[data-station="' + arguments[0] + '"]');
if (!card) return null;
const figures = {};
for (const figure of card.querySelectorAll(".figure"))
    figures[figure.querySelector("span").innerText] = figure.querySelector("b").innerText;
const text = selector => { const node = card.querySelector(selector); return node ? node.innerText : null; };
return {state: text(".state").toLowerCase(), figures: figures, reason: text(".reason"), lastFailure: text(".last-failure")};
"""


def station(name):
    return driver.execute_script(READ_STATION, name) or {"state": None, "figures": {}}


def texts(selector):
    return driver.execute_script("return Array.from(document.querySelectorAll(arguments[0])).map(n => n.innerText);", selector)


try:
    driver.get(url)
    wait("line-a with 3 cards", lambda: station("line-a")["figures"].get("cards today") == "3")
    wait("line-b stopped", lambda: station("line-b")["state"] == "stopped")
    report = {"before": {"line-a": station("line-a"), "line-b": station("line-b")}}
    report["bars"] = len(texts("#throughput svg rect.bar"))
    report["failureBars"] = len(texts("#failures svg rect.bar"))
    report["batches"] = [" ".join(row.split()) for row in texts("#batches tr")]
    report["title"] = driver.title
    driver.save_screenshot(screenshot)
    driver.execute_script("window.dmbootNotReloaded = true;")
    fed = time.monotonic()
    subprocess.run(feed, check=True, stdout=subprocess.DEVNULL)
    wait("line-a with 4 cards", lambda: station("line-a")["figures"].get("cards today") == "4")
    report["secondsToShowNewCard"] = round(time.monotonic() - fed, 2)
    report["notReloaded"] = driver.execute_script("return window.dmbootNotReloaded === true;")
    report["after"] = {"line-a": station("line-a")}
    print(json.dumps(report))
finally:
    driver.quit()
