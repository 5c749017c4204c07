// Drives Debian's Chromium (playwright-core, nothing downloaded) through the segment builder of a served demo.
// Usage: node tests/segments/builder.mjs BASE_URL — prints one JSON object of what it saw.
import { chromium } from "playwright-core";

const base = process.argv[2].replace(/\/$/, "");
const seen = { errors: [], counts: [] };
const browser = await chromium.launch({
  executablePath: process.env.SIYU_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  timeout: 30000,
});

async function settled(page) {
  // htmx wires up swapped-in controls only when the swap settles (≈ 20 ms later): a change fired before
  // that is lost (and a value typed into a control still awaiting its swap is overwritten), so wait
  // until no request is in flight and no swapped element is still marked as added or settling.
  await page.waitForFunction(
    () => !document.querySelector(".htmx-request, .htmx-added, .htmx-settling, .htmx-swapping"),
  );
}

async function count(page, previous) {
  // The preview is debounced: wait until the number shown differs from the previous one (or appears).
  await page.waitForFunction(
    (prev) => {
      const el = document.querySelector("#preview-count");
      return el && el.textContent.trim() !== prev;
    },
    previous,
    { timeout: 10000 },
  );
  return (await page.textContent("#preview-count")).trim();
}

try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on("pageerror", (err) => seen.errors.push(err.message));
  page.on("console", (msg) => { if (msg.type() === "error") seen.errors.push(msg.text()); });
  page.on("response", (r) => { if (r.url().includes("/segments/") && r.status() >= 400) seen.errors.push(`${r.status()} ${r.url()}`); });
  seen.page = page;

  await page.goto(`${base}/login`);
  await page.fill('input[name="username"]', "admin");
  await page.fill('input[name="password"]', "admin-demo-2026");
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("form.form button[type=submit]")]);
  await page.goto(`${base}/segments/new`);
  // 1. The default rule (consent = yes) is counted on load.
  seen.counts.push(await count(page, ""));
  // 2. Flip consent to "no": the count follows without a page load.
  await page.selectOption('select[name="v:r.0"]', "false");
  seen.counts.push(await count(page, seen.counts[0]));
  // 3. Add a condition to the root group, make it "days since last order ≤ 30".
  await page.click('button[value="add:r"]');
  await page.waitForSelector('[data-key="r.1"]');
  await settled(page);
  await page.selectOption('select[name="f:r.1"]', "last_order_days");
  await page.waitForSelector('select[name="o:r.1"] option[value="never"]', { state: "attached" });
  await settled(page);
  await page.selectOption('select[name="o:r.1"]', "le");
  await page.waitForSelector('input[name="v:r.1"]');
  await settled(page);
  await page.fill('input[name="v:r.1"]', "30");
  // Several edits in a row: let the debounced requests finish, then read the last count.
  await page.waitForTimeout(1500);
  await page.waitForFunction(() => !document.querySelector(".htmx-request"));
  seen.counts.push((await page.textContent("#preview-count")).trim());
  seen.rows = await page.$$eval("#rule-editor .rule-row", (rows) => rows.map((r) => r.dataset.key));
  // 4. Save it: the browser lands on the segment's page, version 1.
  await page.fill('input[name="name"]', "端到端人群");
  await Promise.all([page.waitForURL(/\/segments\/\d+$/), page.click("#save-segment")]);
  seen.saved_url = new URL(page.url()).pathname;
  seen.versions = await page.$$eval("#versions tr[data-version]", (rows) => rows.map((r) => r.dataset.version));
  seen.saved_count = await count(page, "");
} catch (err) {
  seen.errors.push(err.message);
  try { seen.preview_html = (await seen.page.innerHTML("#preview")).slice(0, 400); } catch (e) { seen.errors.push(e.message); }
} finally {
  await browser.close();
}
delete seen.page;
console.log(JSON.stringify(seen));
