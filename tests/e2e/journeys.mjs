// The script library and the task inbox walked in Chromium: records what the browser sees, asserts nothing.
// Usage: node tests/e2e/journeys.mjs BASE_URL '{"query": "會員日", "screenshots": "docs/screenshots"}'
// Prints one JSON object; tests/e2e/test_browser.py::test_scripts_and_inbox_in_chromium asserts on it.
import { chromium } from "playwright-core";

const base = process.argv[2].replace(/\/$/, "");
const options = JSON.parse(process.argv[3] || "{}");
const seen = { errors: [] };

const browser = await chromium.launch({
  executablePath: process.env.SIYU_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  timeout: 30000,
});

async function signIn(user) {
  // 127.0.0.1 is a secure context, so the async clipboard works once the permissions are granted.
  const context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on("pageerror", (err) => seen.errors.push(`${user}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) seen.errors.push(`${user} CSP: ${msg.text()}`);
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

try {
  const lead = await signIn("lead");
  // Search in traditional characters through the form; the list shows titles and usage counts.
  await step("scripts search", async () => {
    const { page } = lead;
    await page.goto(`${base}/scripts`);
    await page.fill("#script-q", options.query || "會員日");
    await Promise.all([page.waitForURL(/\/scripts\?/), page.click("#script-search button[type=submit]")]);
    await page.waitForSelector("#scripts");
    seen.search = {
      url: page.url(),
      total: await page.textContent("#script-total"),
      rows: await page.$$eval("#scripts tbody tr[data-script]", (rows) =>
        rows.map((r) => ({
          id: Number(r.dataset.script),
          title: r.querySelector("td a").textContent.trim(),
          usage: Number(r.querySelector("[data-key=usage]").textContent.trim()),
        })),
      ),
    };
    await shot(page, "scripts-search");
  });

  // One script: the preview with sample values, its variants and the copy button.
  await step("script detail", async () => {
    const { page } = lead;
    const first = seen.search?.rows?.[0];
    if (!first) throw new Error("no script found by the search");
    await page.goto(`${base}/scripts/${first.id}`);
    await page.waitForSelector("#script-preview-text");
    seen.detail = {
      id: first.id,
      title: (await page.textContent("h1")).trim(),
      preview: await page.textContent("#script-preview-text"),
      approval: (await page.textContent("#script-approval")).trim(),
      variants: await page.$$eval("#script-variants tbody tr", (rows) => rows.length),
    };
    await shot(page, "script-detail");
  });
  await lead.context.close();

  // The guide's inbox: groups, overdue highlighting, one-click copy, mark one task done.
  const guide = await signIn("guide");
  await step("inbox", async () => {
    const { page } = guide;
    await page.goto(`${base}/tasks`);
    await page.waitForSelector("#inbox-counts");
    seen.inbox = {
      groups: await page.$$eval("section.task-group", (els) => els.map((el) => el.dataset.group)),
      tasks: await page.$$eval("li.task", (els) => els.map((el) => Number(el.dataset.task))),
      overdue: await page.$$eval("li.task.overdue", (els) => els.map((el) => Number(el.dataset.task))),
      overdue_count: Number((await page.textContent("[data-key=overdue]")).trim()),
      open_today: Number((await page.textContent("[data-key=open-today]")).trim()),
    };
    await shot(page, "inbox");
  });

  await step("copy", async () => {
    const { page } = guide;
    const button = page.locator("li.task button[data-copy-target]").first();
    const target = await button.getAttribute("data-copy-target");
    const text = await page.textContent(target);
    await button.click();
    await page.waitForSelector("li.task button[data-copied]");
    let clipboard = null;
    try {
      clipboard = await page.evaluate(() => navigator.clipboard.readText());
    } catch (err) {
      clipboard = null; // no clipboard permission in this browser: the visible "copied" state is what we check
    }
    seen.copy = {
      task: Number(target.replace("#task-text-", "")),
      text,
      clipboard,
      label: (await button.textContent()).trim(),
    };
  });

  await step("mark done", async () => {
    const { page } = guide;
    const item = page.locator("li.task").first();
    const id = Number(await item.getAttribute("data-task"));
    await Promise.all([page.waitForURL(/done=1/), item.locator("button.done-one").click()]);
    await page.waitForSelector("#done-notice");
    seen.done = {
      id,
      notice: (await page.textContent("#done-notice")).trim(),
      still_listed: await page.$$eval("li.task", (els, id) => els.some((el) => Number(el.dataset.task) === id), id),
    };
  });
  await guide.context.close();
} finally {
  await browser.close();
}

process.stdout.write(JSON.stringify(seen));
