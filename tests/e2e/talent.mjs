// The talent pages (/talent/...) walked by console.mjs: records what the browser sees, asserts nothing.
// sessions: { lead: {context, page}, store: {context, page} } signed in already; step(name, fn) records errors.

const chartsRendered = (page) =>
  page.$$eval("[data-chart]", (els) => ({
    charts: els.length,
    rendered: els.filter((el) => el.querySelector("canvas, svg")).length,
  }));

async function waitForCharts(page) {
  await page.waitForFunction(() =>
    [...document.querySelectorAll("[data-chart]")].every((el) => el.querySelector("canvas, svg")),
  );
}

async function gapPage(page, base) {
  await page.goto(`${base}/talent/gaps`);
  await page.waitForSelector("#gap-totals");
  return page.evaluate(() => {
    const totals = {};
    for (const td of document.querySelectorAll("#gap-totals td[data-total]")) totals[td.dataset.total] = Number(td.textContent.trim());
    const counts = {};
    for (const el of document.querySelectorAll("#gap-counts [data-count]")) counts[el.dataset.count] = Number(el.textContent.trim());
    const findings = [...document.querySelectorAll("section[data-section] tr[data-kind]")].map((tr) => ({
      section: tr.closest("section").dataset.section,
      kind: tr.dataset.kind,
      subject: tr.dataset.subject,
      link: tr.querySelector("td:nth-child(3) a")?.getAttribute("href") || null,
    }));
    const stage = document.querySelector("#gap-stage");
    return { totals, counts, findings, stage: stage.dataset.stage, brand_wide: stage.dataset.brandWide === "true" };
  });
}

async function cycleRows(page) {
  return page.$$eval("#people-table tbody tr[data-assessment]", (rows) =>
    rows.map((r) => ({ id: Number(r.dataset.assessment), staff: Number(r.dataset.staff), status: r.dataset.status })),
  );
}

export async function walkTalent(base, sessions, options, step) {
  const started = Date.now();
  const seen = { skipped: [] };
  const lead = sessions.lead;
  if (!lead) {
    seen.skipped.push("no lead session");
    return seen;
  }
  const { page } = lead;
  const shot = async (name) => {
    if (options.screenshots) await page.screenshot({ path: `${options.screenshots}/${name}.png`, fullPage: true });
  };

  // /talent sends the lead to the first tab; the role map lists every role with its holder count.
  await step("talent roles", async () => {
    await page.goto(`${base}/talent`);
    await page.waitForSelector("#role-map");
    const holders = await page.$$eval("#role-list tbody tr[data-role]", (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.role, Number(r.querySelector("[data-key=holders]").textContent.trim())])),
    );
    const tabs = await page.$$eval("#talent-tabs a", (links) => links.map((a) => a.getAttribute("href")));
    seen.roles = { path: new URL(page.url()).pathname, holders, tabs };
    await shot("talent-roles");
  });

  // One role page: its holders and the job-description draft to copy.
  await step("talent role page", async () => {
    await page.goto(`${base}/talent/roles/guide`);
    await page.waitForSelector("#role-jd");
    seen.role_page = {
      code: await page.getAttribute("#role", "data-role"),
      holder_count: Number((await page.textContent("#holder-count")).trim()),
      holder_rows: await page.$$eval("#role-holders tbody tr", (rows) => rows.length),
      jd_tag: await page.$eval("#role-jd", (el) => el.tagName.toLowerCase()),
      jd_length: (await page.inputValue("#role-jd")).length,
    };
  });

  // The advisor form comes prefilled from the data; submitting it stores a run and shows the result.
  await step("talent advisor", async () => {
    await page.goto(`${base}/talent/advisor`);
    await page.waitForSelector("#advisor-form");
    const facts = await page.$$eval("#advisor-facts td[data-fact]", (cells) =>
      Object.fromEntries(cells.map((c) => [c.dataset.fact, c.textContent.trim()])),
    );
    await Promise.all([
      page.waitForURL((url) => /\/talent\/advisor\/runs\/\d+$/.test(url.pathname)),
      page.click("#advisor-form button[type=submit]"),
    ]);
    await page.waitForSelector("#advisor-result");
    seen.advisor = {
      facts,
      run_id: Number(await page.getAttribute("#advisor-result", "data-run")),
      path: new URL(page.url()).pathname,
      structure: await page.getAttribute('#advisor-summary [data-key="structure"]', "data-value"),
      team: await page.$$eval("#advisor-team tbody tr[data-role]", (rows) =>
        rows.map((r) => [r.dataset.role, Number(r.querySelector("[data-key=recommended]").textContent.trim())]),
      ),
      citations: await page.$$eval("blockquote.citation", (els) =>
        els.map((el) => ({ seed: el.dataset.seed, quote_length: el.textContent.trim().length })),
      ),
    };
    await shot("talent-advisor");
  });

  // The gap analysis, after the run: its starting team is what headcount is compared with.
  await step("talent gaps", async () => {
    seen.gaps = await gapPage(page, base);
    await shot("talent-gaps");
  });

  // Assessment cycles: the list, one cycle, its calibration charts and one person's history.
  await step("talent cycles", async () => {
    await page.goto(`${base}/talent/cycles`);
    await page.waitForSelector("#cycles");
    const cycles = await page.$$eval("#cycle-table tbody tr[data-cycle]", (rows) =>
      rows.map((r) => ({
        id: Number(r.dataset.cycle),
        status: r.querySelector("[data-key=status]")?.dataset.value,
        total: Number(r.querySelector("[data-key=total]")?.textContent.trim()),
        submitted: Number(r.querySelector("[data-key=submitted]")?.textContent.trim()),
      })),
    );
    seen.cycles = { list: cycles };
    if (cycles.length === 0) {
      seen.skipped.push("no assessment cycle in the demo: cycle, calibration and history steps skipped");
      return;
    }
    // The closed cycle has every assessment submitted, so calibration and history have data.
    const cycle = cycles.find((c) => c.status === "closed") || cycles[0];
    await page.goto(`${base}/talent/cycles/${cycle.id}`);
    await page.waitForSelector("#people-table");
    const rows = await cycleRows(page);
    seen.cycles.chosen = cycle.id;
    seen.cycles.rows = rows.length;
    await page.goto(`${base}/talent/cycles/${cycle.id}/calibration`);
    await page.waitForSelector("#distribution");
    await waitForCharts(page);
    seen.calibration = {
      ...(await chartsRendered(page)),
      teams: await page.$$eval("#distribution-table tbody tr[data-team]", (trs) => trs.length),
      total: Number((await page.textContent('#distribution-total [data-key="total"]')).trim()),
      outliers: await page.$$eval("#outlier-table tbody tr[data-assessment]", (trs) => trs.length),
    };
    await shot("talent-calibration");
    const person = rows.find((r) => r.status === "submitted") || rows[0];
    if (person) {
      await page.goto(`${base}/talent/staff/${person.staff}`);
      await page.waitForSelector("#history-table");
      await waitForCharts(page);
      seen.history = {
        staff_id: person.staff,
        rows: await page.$$eval("#history-table tbody tr[data-assessment]", (trs) => trs.length),
        ...(await chartsRendered(page)),
      };
    }
  });

  // A store manager sees the gaps and a cycle of their own store only.
  const store = sessions.store;
  if (store) {
    await step("talent store manager", async () => {
      seen.store = { gaps: await gapPage(store.page, base) };
      if (seen.cycles?.chosen) {
        await store.page.goto(`${base}/talent/cycles/${seen.cycles.chosen}`);
        await store.page.waitForSelector("#people-table");
        seen.store.cycle_rows = (await cycleRows(store.page)).length;
      }
    });
    await store.context.close();
  }
  await lead.context.close();
  seen.ms = Date.now() - started;
  return seen;
}
