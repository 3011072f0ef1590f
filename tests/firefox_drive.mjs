// Drive Debian's Firefox (ESR) through WebDriver BiDi with puppeteer-core (a dev dependency in
// package.json: no browser download) for tests/report/test_views.py:
//
//   node tests/firefox_drive.mjs FILE_URL FILTER_TEXT
//
// opens the page offline, waits for the widgets, types FILTER_TEXT into the first filter box and
// prints one JSON line: the visible rows of the first long table before and after, the errors and
// console errors, every request that was not file: or data:, whether the page ran injected markup.
import puppeteer from "puppeteer-core";

const [url, filter] = process.argv.slice(2);
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.PERFKIT_FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
});
const out = { errors: [], requests: [] };
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => out.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") out.errors.push("console: " + m.text()); });
  page.on("request", (r) => { if (!/^(file|data|blob):/.test(r.url())) out.requests.push(r.url()); });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector(".jupyter-widgets .widget-subarea", { timeout: 20000 });
  await page.waitForSelector(".perfkit-tools input", { timeout: 10000 });
  out.ms = Date.now() - t0;
  out.userAgent = await page.evaluate(() => navigator.userAgent);
  const rows = () => page.evaluate(() => {
    const t = document.querySelector(".perfkit-tools + .perfkit-scroll > table");
    return [...t.tBodies[0].rows].filter((r) => !r.hidden).map((r) => [...r.cells].map((c) => c.textContent));
  });
  out.before = await rows();
  await page.type(".perfkit-tools input", filter);
  await new Promise((r) => setTimeout(r, 300));
  out.after = await rows();
  out.count = await page.evaluate(() => document.querySelector(".perfkit-count").textContent);
  out.pwned = await page.evaluate(() => typeof window.__pwned);
  out.markup = await page.evaluate(() => document.querySelectorAll("table.perfkit-table img, table.perfkit-table b").length);
  out.widgets = await page.evaluate(() => document.querySelectorAll(".jupyter-widgets .widget-subarea").length);
} catch (e) {
  out.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
