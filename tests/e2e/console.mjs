// Drives Debian's Chromium through playwright-core (nothing downloaded) against a running console.
// Usage: node tests/e2e/console.mjs BASE_URL '{"forbidden_id": 123, "screenshots": "docs/screenshots"}'
// Prints one JSON object of observations; tests/e2e/test_browser.py asserts on it.
import { chromium } from "playwright-core";
import { walkTalent } from "./talent.mjs";

const base = process.argv[2].replace(/\/$/, "");
const options = JSON.parse(process.argv[3] || "{}");
const PASSWORDS = (user) => `${user}-demo-2026`;
const results = { logins: {}, errors: [] };

const browser = await chromium.launch({
  executablePath: process.env.SIYU_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 30000,
});

async function signIn(user) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on("pageerror", (err) => results.errors.push(`${user}: ${err.message}`));
  await page.goto(`${base}/login`);
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', PASSWORDS(user));
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("form.form button[type=submit]")]);
  await page.waitForSelector("#viewer");
  results.logins[user] = {
    name: (await page.textContent("#viewer .viewer-name")).trim(),
    role: (await page.textContent("#viewer .viewer-role")).trim(),
    path: new URL(page.url()).pathname,
  };
  return { context, page };
}

async function rowIds(page) {
  return page.$$eval("#customers tbody tr[id^=customer-]", (rows) => rows.map((r) => Number(r.id.slice("customer-".length))));
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    results.errors.push(`${name}: ${err.message}`);
  }
}

try {
  // Every role signs in and sees itself in the top bar.
  let admin;
  const talentSessions = {}; // lead and store manager walk the talent pages (talent.mjs)
  for (const user of ["admin", "lead", "region", "store", "guide"]) {
    await step(`login ${user}`, async () => {
      const session = await signIn(user);
      if (user === "admin") admin = session;
      else if (user === "guide") results.guideSession = session;
      else if (user === "lead" || user === "store") talentSessions[user] = session;
      else await session.context.close();
    });
  }

  // The guide sees only own customers; another store's customer is a 404.
  const guide = results.guideSession;
  delete results.guideSession;
  if (guide) {
    await step("guide scope", async () => {
      const { page } = guide;
      await page.goto(`${base}/customers`);
      await page.waitForSelector("#customers");
      results.guide_list_ids = await rowIds(page);
      if (options.forbidden_id !== undefined) {
        const response = await page.goto(`${base}/customers/${options.forbidden_id}`);
        results.guide_forbidden = {
          status: response.status(),
          error_page: (await page.$(".error-page")) !== null,
          shows_customer: (await page.$("#tags")) !== null,
        };
      }
    });
  }

  if (admin) {
    const { page } = admin;
    // Search by the last four digits of a phone shown on the first page.
    await step("search", async () => {
      await page.goto(`${base}/customers`);
      await page.waitForSelector("#customers");
      const phones = await page.$$eval("#customers tbody td.phone", (cells) => cells.map((c) => c.textContent.trim()));
      const phone = phones.find((p) => /\d{4}$/.test(p));
      const last4 = phone.slice(-4);
      await page.fill('#customer-filters input[name="phone"]', last4);
      await Promise.all([
        page.waitForResponse((r) => r.url().includes(`phone=${last4}`) && r.status() === 200),
        page.click("#customer-filters button[type=submit]"),
      ]);
      await page.waitForFunction(
        (l4) => {
          const cells = [...document.querySelectorAll("#customers tbody td.phone")];
          return cells.length > 0 && cells.every((c) => c.textContent.trim().endsWith(l4));
        },
        last4,
      );
      results.search = {
        last4,
        phones: await page.$$eval("#customers tbody td.phone", (cells) => cells.map((c) => c.textContent.trim())),
        url: page.url(),
      };
    });

    // Add a tag on a customer 360 in place (HTMX swap, no page load).
    await step("tag", async () => {
      await page.goto(`${base}/customers`);
      await page.waitForSelector("#customers");
      const id = (await rowIds(page))[0];
      await page.goto(`${base}/customers/${id}`);
      await page.waitForSelector("#tags form.actions-row select[name=tag_id]");
      const present = await page.$$eval("#tags li.badge", (items) => items.map((li) => li.textContent.trim()));
      const choices = await page.$$eval("#tags form.actions-row select[name=tag_id] option", (opts) =>
        opts.map((o) => ({ value: o.value, name: o.textContent.trim(), group: o.parentElement.label })),
      );
      const choice = choices.find((c) => !present.some((p) => p.startsWith(`${c.group}: ${c.name}`)));
      await page.evaluate(() => {
        window.__siyuNoReload = true;
      });
      await page.selectOption("#tags form.actions-row select[name=tag_id]", choice.value);
      await page.click("#tags form.actions-row button[type=submit]");
      const label = `${choice.group}: ${choice.name}`;
      await page.waitForFunction(
        (text) => [...document.querySelectorAll("#tags li.badge")].some((li) => li.textContent.trim().startsWith(text)),
        label,
      );
      results.tag = {
        customer_id: id,
        label,
        before: present,
        after: await page.$$eval("#tags li.badge", (items) => items.map((li) => li.textContent.trim())),
        in_place: await page.evaluate(() => window.__siyuNoReload === true),
      };
      if (options.screenshots) {
        await page.screenshot({ path: `${options.screenshots}/customer-360.png`, fullPage: true });
      }
    });

    // The overview renders its charts.
    await step("overview", async () => {
      await page.goto(`${base}/overview`);
      await page.waitForSelector("[data-chart]");
      await page.waitForFunction(() =>
        [...document.querySelectorAll("[data-chart]")].every((el) => el.querySelector("canvas, svg")),
      );
      results.overview = await page.$$eval("[data-chart]", (els) => ({
        charts: els.length,
        rendered: els.filter((el) => el.querySelector("canvas, svg")).length,
      }));
      if (options.screenshots) {
        await page.waitForTimeout(1200); // let ECharts finish its entry animation
        await page.screenshot({ path: `${options.screenshots}/overview.png`, fullPage: true });
      }
    });

    // Import a small customer file: preview the mapping, validate (dry run), run, read the job result.
    await step("import", async () => {
      await page.goto(`${base}/imports`);
      await page.waitForSelector("#import-form");
      await page.evaluate(() => {
        window.__siyuNoReload = true;
      });
      await page.selectOption('#import-form select[name="kind"]', "customers");
      await page.setInputFiles('#import-form input[name="file"]', {
        name: options.import_name || "e2e-customers.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(options.import_csv || "", "utf-8"),
      });
      // Each step swaps #import-work; wait for the new element, not for the old one to still be there.
      const runStep = async (name) => {
        await page.evaluate(() => {
          document.querySelector("#import-work").dataset.old = "1";
        });
        await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(`/imports/${name}`)),
          page.click(`#import-form button[formaction="/imports/${name}"]`),
        ]);
        await page.waitForFunction(() => {
          const work = document.querySelector("#import-work");
          return work && work.dataset.old !== "1";
        });
      };
      const counts = () =>
        page.$$eval("#import-counts tbody td", (cells) => cells.map((c) => Number(c.textContent.trim())));
      await runStep("preview");
      const mapping = await page.$$eval("#mapping tbody tr", (rows) =>
        rows.map((r) => [...r.cells].map((c) => c.textContent.trim())),
      );
      const previewRows = await page.$$eval("#preview-rows tbody tr", (rows) => rows.length);
      await runStep("validate");
      const validated = { ok: (await page.$("#import-result .badge.danger")) === null, counts: await counts() };
      await runStep("run");
      const ran = { ok: (await page.$("#import-result .badge.danger")) === null, counts: await counts() };
      const job = await page.$$eval("#import-jobs tbody tr[id^=job-]", (rows) =>
        rows.slice(0, 1).map((r) => [...r.cells].map((c) => c.textContent.trim())),
      );
      results.import = {
        mapping,
        preview_rows: previewRows,
        validated,
        ran,
        latest_job: job[0] || null,
        in_place: await page.evaluate(() => window.__siyuNoReload === true),
      };
    });

    // Switch the console to English.
    await step("language", async () => {
      await page.goto(`${base}/`);
      await Promise.all([page.waitForLoadState("load"), page.click('form.lang-switch button[value="en"]')]);
      await page.waitForSelector('html[lang="en"]');
      results.language = {
        html_lang: await page.getAttribute("html", "lang"),
        sign_out: (await page.textContent("form.logout button")).trim(),
        role: (await page.textContent("#viewer .viewer-role")).trim(),
      };
    });
  }
  // The talent pages, as the lead (whole brand) and as a store manager (own store only).
  results.talent = await walkTalent(base, talentSessions, options, step);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + "\n");
