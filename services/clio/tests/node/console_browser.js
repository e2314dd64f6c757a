// Opens Clio's /console/ in headless Chromium as an operator does (with CONSOLE_KEY, as the
// password the browser is asked for), lists its panels, and clicks the Replay button of the
// dead letter RECORD; prints what it saw as JSON: the page's status, every panel (title, rows,
// error), whether the record's row left the list, and the page's status line.
//
//     node console_browser.js CHROMIUM URL RECORD
const puppeteer = require('puppeteer-core');

async function main() {
  const [chromium, url, record] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    if (process.env.CONSOLE_KEY) {
      await page.authenticate({ username: 'operator', password: process.env.CONSOLE_KEY });
    }
    const response = await page.goto(url, { waitUntil: 'load' });
    const panels = await page.$$eval('section.panel', (sections) => sections.map((s) => ({
      title: s.dataset.panel,
      rows: s.querySelectorAll('tbody tr').length,
      error: s.querySelector('.error') ? s.querySelector('.error').textContent : null,
    })));
    const rows = 'section[data-panel="Dead letters"] tbody tr';
    const records = await page.$$eval(rows, (found) => found.map((r) => r.cells[0].textContent));
    let left = false;
    const index = records.indexOf(record);
    if (index >= 0) {
      const buttons = await page.$$(`${rows} button.action`);
      await buttons[index].click();
      left = await page.waitForFunction(
        (selector, wanted) => ![...document.querySelectorAll(selector)].some((r) => r.cells[0].textContent === wanted),
        { timeout: 15000 }, rows, record,
      ).then(() => true, () => false);
      if (!left) {
        // A refusal shows on the status line.
        await page.waitForFunction(() => document.getElementById('status').textContent !== '', { timeout: 5000 })
          .catch(() => {});
      }
    }
    const status = await page.$eval('#status', (e) => e.textContent).catch(() => null);
    console.log(JSON.stringify({ http: response.status(), panels, records, left, status }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
