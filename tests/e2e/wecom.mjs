// The WeCom console pages (/wecom/...) walked in Chromium as the admin: records what the browser sees, asserts nothing.
// Usage: node tests/e2e/wecom.mjs BASE_URL '{"phase": "walk"|"funnel", "settings": {...}, "code": {...}, "secrets": [...]}'
// Prints one JSON object; tests/e2e/wecom_check.py (test_browser.py::test_wecom_console_in_chromium) asserts on it.
import { chromium } from "playwright-core";

const base = process.argv[2].replace(/\/$/, "");
const options = JSON.parse(process.argv[3] || "{}");
const secrets = options.secrets || [];
const seen = { errors: [], console_errors: [], pages: {}, secret_leaks: [] };

const browser = await chromium.launch({
  executablePath: process.env.SIYU_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  timeout: 30000,
});

async function signIn(user) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on("pageerror", (err) => seen.errors.push(`${user} page error on ${page.url()}: ${err.message}`));
  page.on("console", (msg) => {
    // Every console error counts (CSP violations are reported this way too); the test asserts there are none.
    if (msg.type() === "error") seen.console_errors.push(`${new URL(page.url()).pathname}: ${msg.text()}`);
  });
  await page.goto(`${base}/login`);
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', `${user}-demo-2026`);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("form.form button[type=submit]")]);
  await page.waitForSelector("#viewer");
  return { context, page };
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    seen.errors.push(`${name}: ${err.message}`);
  }
}

const shot = async (page, name) => {
  if (options.screenshots) await page.screenshot({ path: `${options.screenshots}/${name}.png`, fullPage: true });
};

// What every page must show: its status, its heading, the nav entry, and no secret anywhere in the HTML.
async function look(page, key, response) {
  const html = await page.content();
  for (const s of secrets) if (s && html.includes(s)) seen.secret_leaks.push(key);
  const info = {
    status: response ? response.status() : null,
    path: new URL(page.url()).pathname,
    h1: ((await page.textContent("h1")) || "").trim(),
    nav_active: await page.$$eval('nav a[href="/wecom"][aria-current="page"]', (links) => links.length),
  };
  seen.pages[key] = info;
  return info;
}

async function open(page, key, path) {
  const response = await page.goto(`${base}${path}`);
  await page.waitForSelector("h1");
  return look(page, key, response);
}

const rowOf = (page, code) =>
  page.$eval(`#codes tr[data-code="${code}"]`, (tr) => ({
    code: tr.dataset.code,
    cells: [...tr.querySelectorAll("td")].map((td) => td.textContent.trim()),
    adds: Number(tr.querySelector("[data-key=adds]").textContent.trim()),
    following: Number(tr.querySelector("[data-key=following]").textContent.trim()),
    ordered: Number(tr.querySelector("[data-key=ordered]").textContent.trim()),
    qr: tr.querySelector('a[target="_blank"]')?.getAttribute("href") || null,
    link: tr.querySelector("td a").getAttribute("href"),
  }));

async function hub(page, key) {
  await open(page, key, "/wecom");
  await page.waitForSelector("#wecom-status");
  seen[key] = {
    status_text: (await page.textContent("#wecom-status")).replace(/\s+/g, " ").trim(),
    badge: await page.$eval("#wecom-status", (el) => el.querySelector(".badge")?.className || null),
    sections: await page.$$eval("#wecom-sections a", (links) => links.map((a) => a.getAttribute("href"))),
  };
}

async function walk(page) {
  const s = options.settings;
  const c = options.code;

  await step("hub before settings", () => hub(page, "hub_before"));

  // A key that is 43 characters but not base64 is refused with a message, and nothing typed is echoed back.
  await step("settings invalid key", async () => {
    await open(page, "settings_empty", "/wecom/settings");
    await page.fill('#wecom-settings input[name="corp_id"]', s.corp_id);
    await page.fill('#wecom-settings input[name="secret"]', s.secret);
    await page.fill('#wecom-settings input[name="callback_token"]', s.token);
    await page.fill('#wecom-settings input[name="aes_key"]', s.bad_aes_key);
    await page.fill('#wecom-settings input[name="api_base_url"]', s.base_url);
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#save-settings")]);
    await page.waitForSelector("#settings-error");
    const info = await look(page, "settings_invalid", response);
    seen.settings_invalid = {
      ...info,
      error: (await page.textContent("#settings-error")).trim(),
      secret_value: await page.inputValue('#wecom-settings input[name="secret"]'),
      aes_value: await page.inputValue('#wecom-settings input[name="aes_key"]'),
      corp_value: await page.inputValue('#wecom-settings input[name="corp_id"]'),
    };
  });

  await step("settings save and test", async () => {
    await open(page, "settings_form", "/wecom/settings");
    await page.fill('#wecom-settings input[name="corp_id"]', s.corp_id);
    await page.fill('#wecom-settings input[name="agent_id"]', s.agent_id);
    await page.fill('#wecom-settings input[name="secret"]', s.secret);
    await page.fill('#wecom-settings input[name="callback_token"]', s.token);
    await page.fill('#wecom-settings input[name="aes_key"]', s.aes_key);
    await page.fill('#wecom-settings input[name="api_base_url"]', s.base_url);
    await Promise.all([page.waitForURL(/\/wecom\/settings$/), page.waitForResponse((r) => r.request().method() === "POST"), page.click("#save-settings")]);
    await page.waitForSelector("#test-connection");
    const saved = await look(page, "settings_saved", null);
    seen.settings_saved = {
      ...saved,
      last_test: (await page.textContent("#last-test")).replace(/\s+/g, " ").trim(),
      secret_value: await page.inputValue('#wecom-settings input[name="secret"]'),
      aes_value: await page.inputValue('#wecom-settings input[name="aes_key"]'),
      secret_placeholder: await page.getAttribute('#wecom-settings input[name="secret"]', "placeholder"),
      base_value: await page.inputValue('#wecom-settings input[name="api_base_url"]'),
      callback_url: (await page.textContent("#callback-url")).trim(),
    };
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/wecom/settings/test")), page.click("#test-connection")]);
    await page.waitForURL(/\/wecom\/settings$/);
    await page.waitForSelector("#last-test .badge");
    const tested = await look(page, "settings_tested", null);
    seen.settings_tested = {
      ...tested,
      badge: await page.$eval("#last-test .badge", (el) => el.className),
      last_test: (await page.textContent("#last-test")).replace(/\s+/g, " ").trim(),
    };
    await shot(page, "wecom-settings");
  });

  await step("hub after settings", () => hub(page, "hub_after"));

  // A channel code with two tags and a welcome script; the list shows it with its funnel.
  await step("channel code create", async () => {
    await open(page, "codes_before", "/wecom/channel-codes");
    seen.codes_before = { rows: await page.$$eval("#codes tbody tr[data-code]", (rows) => rows.map((r) => r.dataset.code)) };
    const form = "#new-code";
    await page.fill(`${form} input[name="code"]`, c.code);
    await page.fill(`${form} input[name="name"]`, c.name);
    await page.fill(`${form} input[name="source_detail"]`, c.source_detail);
    await page.selectOption(`${form} select[name="staff_ids"]`, c.staff_ids.map(String));
    await page.selectOption(`${form} select[name="tag_ids"]`, c.tag_ids.map(String));
    await page.selectOption(`${form} select[name="welcome_script_id"]`, String(c.welcome_script_id));
    await Promise.all([page.waitForURL(/\/wecom\/channel-codes$/), page.waitForResponse((r) => r.request().method() === "POST"), page.click("#create-code")]);
    // Either the new row or the form's error message (recorded, so a refusal reads as its reason).
    await page.waitForSelector(`#codes tr[data-code="${c.code}"], #codes-error`);
    await look(page, "codes_after", null);
    const error = await page.$eval("#codes-error", (el) => el.textContent.trim()).catch(() => null);
    if (error) throw new Error(`channel code refused: ${error}`);
    seen.codes_after = {
      error,
      row: await rowOf(page, c.code),
      rows: await page.$$eval("#codes tbody tr[data-code]", (rows) => rows.map((r) => r.dataset.code)),
    };
    await shot(page, "wecom-channel-codes");
  });

  // The code's own page keeps the chosen tags and welcome script selected.
  await step("channel code page", async () => {
    const link = seen.codes_after?.row?.link;
    if (!link) throw new Error("no link to the new channel code");
    await open(page, "code_page", link);
    seen.code_page = {
      tags: await page.$$eval('select[name="tag_ids"] option', (os) => os.filter((o) => o.selected).map((o) => Number(o.value))),
      staff: await page.$$eval('select[name="staff_ids"] option', (os) => os.filter((o) => o.selected).map((o) => Number(o.value))),
      script: await page.$eval('select[name="welcome_script_id"]', (el) => Number(el.value)),
    };
  });

  // Handover: the staff picker, then one member's customers.
  await step("handover", async () => {
    await open(page, "handover", "/wecom/handover");
    const staff = await page.$$eval('#pick-staff select[name="staff_id"] option', (os) => os.map((o) => o.value).filter(Boolean).map(Number));
    await page.selectOption('#pick-staff select[name="staff_id"]', String(options.handover_staff_id));
    await Promise.all([page.waitForURL(/staff_id=/), page.click("#pick-staff button[type=submit]")]);
    await page.waitForSelector("#candidates");
    await look(page, "handover_staff", null);
    seen.handover = {
      staff,
      candidates: await page.$$eval("#candidates tbody tr[data-customer]", (rows) => rows.map((r) => Number(r.dataset.customer))),
      takeover: await page.$$eval('#handover-form select[name="takeover_staff_id"] option', (os) => os.map((o) => o.value).filter(Boolean).map(Number)),
      batches: await page.$$eval("#batches tbody tr[data-batch]", (rows) => rows.length),
    };
    await shot(page, "wecom-handover");
  });

  await step("sync", async () => {
    await open(page, "sync", "/wecom/sync");
    await page.waitForSelector("#sync-runs");
    seen.sync = {
      not_configured: (await page.$("#sync-not-configured")) !== null,
      start_full: (await page.$("#start-full")) !== null,
      start_incremental: (await page.$("#start-incremental")) !== null,
      runs: await page.$$eval("#sync-runs tr[id^=sync-run-]", (rows) => rows.length),
    };
  });

  // A moments task for two members: created on WeCom, one row per member on its page, listed afterwards.
  await step("moments", async () => {
    await open(page, "moments", "/wecom/moments");
    await page.waitForSelector("#moments");
    seen.moments = {
      rows_before: await page.$$eval("#moments tbody tr[data-moment]", (rows) => rows.length),
      staff_options: await page.$$eval('#new-moment input[name="staff_ids"]', (els) => els.map((e) => Number(e.value))),
    };
    const m = options.moment;
    await page.fill('#new-moment textarea[name="text"]', m.text);
    for (const id of m.staff_ids) await page.check(`#new-moment input[name="staff_ids"][value="${id}"]`);
    await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#create-moment")]);
    await page.waitForSelector("#moment-staff, #moments-error");
    const error = await page.$eval("#moments-error", (el) => el.textContent.trim()).catch(() => null);
    if (error) throw new Error(`moments task refused: ${error}`);
    await look(page, "moment_page", null);
    seen.moment_page = {
      path: new URL(page.url()).pathname,
      status: (await page.textContent("#moment-status")).trim(),
      staff: await page.$$eval("#moment-staff tbody tr[data-staff]", (rows) => rows.map((r) => Number(r.dataset.staff))),
    };
    await open(page, "moments_after", "/wecom/moments");
    seen.moments.rows_after = await page.$$eval("#moments tbody tr[data-moment]", (rows) => rows.map((r) => Number(r.dataset.moment)));
    await shot(page, "wecom-moments");
  });
}

// After the test simulated scans on the fake, the list shows the code's funnel again.
async function funnel(page) {
  await step("funnel", async () => {
    await open(page, "codes_funnel", "/wecom/channel-codes");
    seen.funnel = { row: await rowOf(page, options.code.code) };
    await shot(page, "wecom-channel-codes-funnel");
  });
  await step("callbacks", async () => {
    await open(page, "callbacks", "/wecom/callbacks");
    seen.callbacks = {
      counts: await page.$$eval("#callback-counts [data-key]", (els) =>
        Object.fromEntries(els.map((el) => [el.dataset.key, Number(el.textContent.split(":").pop().trim())])),
      ),
      events: await page.$$eval("#callback-events tbody tr[data-event]", (rows) => rows.map((r) => r.dataset.status)),
    };
  });
  // The platform mass sends the test made through the wecom channel, with WeCom's per-customer results.
  await step("mass sends", async () => {
    await open(page, "mass_sends", "/wecom/mass-sends");
    await page.waitForSelector("#mass-sends");
    seen.mass_sends = {
      rows: await page.$$eval("#mass-sends tbody tr[data-msgid]", (rows) =>
        rows.map((r) => {
          const n = (key) => Number(r.querySelector(`[data-key=${key}]`).textContent.trim());
          return { msgid: r.dataset.msgid, recipients: n("recipients"), sent: n("sent"), not_friend: n("not_friend"), over_limit: n("over_limit") };
        }),
      ),
    };
    await shot(page, "wecom-mass-sends");
  });
}

try {
  const admin = await signIn("admin");
  if (options.phase === "funnel") await funnel(admin.page);
  else await walk(admin.page);
  await admin.context.close();
} finally {
  await browser.close();
}

process.stdout.write(JSON.stringify(seen));
