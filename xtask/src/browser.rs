//! `cargo xtask browser-test`: the built book in a real, headless Chromium.
//!
//! Opens chapter 1, checks that the sequence diagram rendered as SVG, starts the
//! quiz, answers every question and checks that the answer review (the feedback)
//! appears. Then opens the Instructors part and a chapter's speaker notes, which
//! must be collapsed until clicked. Needs Debian's `chromium` and `chromium-driver` (CI installs them).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the browser test against the book built in `book_dir`.
pub async fn run(book_dir: &Path) -> Result<()> {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        ensure!(
            Path::new(tool).exists(),
            "{tool} is missing: apt-get install chromium chromium-driver"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?,
    );
    let client = connect(port).await?;
    let mut result = exercise_chapter_one(&client, book_dir).await;
    if result.is_ok() {
        result = instructors_part(&client, book_dir).await;
    }
    let _ = client.close().await;
    result
}

async fn connect(port: u16) -> Result<Client> {
    let profile = std::env::temp_dir().join(format!("brokerlings-chromium-{port}"));
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = capabilities
        .as_object()
        .cloned()
        .context("capabilities are an object")?;
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Ok(client),
            Err(error) if started.elapsed() > Duration::from_secs(20) => {
                bail!("chromedriver did not start a browser within 20 s: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn page_url(book_dir: &Path, page: &str) -> Result<String> {
    let path = book_dir
        .join(page)
        .canonicalize()
        .with_context(|| format!("{page} was built"))?;
    Ok(format!("file://{}", path.display()))
}

/// The Instructors part renders with its agendas, and a chapter's speaker notes
/// are closed for readers and open on a click.
async fn instructors_part(client: &Client, book_dir: &Path) -> Result<()> {
    let wait = Duration::from_secs(20);
    client
        .goto(&page_url(book_dir, "instructors-agendas.html")?)
        .await?;
    let table = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("main table"))
        .await
        .context("the agendas page shows no table within 20 s")?;
    let text = table.text().await?;
    ensure!(
        text.contains("Setup") && text.contains("cargo test -p proofs"),
        "the first agenda lacks its setup or demos: {text}"
    );
    println!("browser: the Instructors part shows its agendas");
    client
        .goto(&page_url(book_dir, "ch02-work-queues.html")?)
        .await?;
    let notes = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("details.speaker-notes"))
        .await
        .context("chapter 2 has no speaker notes block")?;
    ensure!(
        notes.attr("open").await?.is_none(),
        "chapter 2's speaker notes are open for readers"
    );
    let demo = notes
        .find(Locator::XPath(".//strong[text()='Live demo:']"))
        .await?;
    ensure!(
        !demo.is_displayed().await?,
        "chapter 2's speaker notes show their content while collapsed"
    );
    notes.find(Locator::Css("summary")).await?.click().await?;
    ensure!(
        demo.is_displayed().await?,
        "chapter 2's speaker notes did not open on a click"
    );
    println!("browser: chapter 2's speaker notes are collapsed and open on a click");
    Ok(())
}

async fn exercise_chapter_one(client: &Client, book_dir: &Path) -> Result<()> {
    let page = book_dir
        .join("ch01-first-contact.html")
        .canonicalize()
        .context("chapter 1 was built")?;
    client.goto(&format!("file://{}", page.display())).await?;
    let wait = Duration::from_secs(20);
    client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("pre.mermaid svg"))
        .await
        .context("the sequence diagram did not render as SVG within 20 s")?;
    println!("browser: the mermaid diagram rendered as SVG");
    let start = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css(".mdbook-quiz-wrapper button.start"))
        .await
        .context("the quiz did not render (no Start button) within 20 s")?;
    start.click().await?;
    for answered in 0..40 {
        let review = client
            .find_all(Locator::XPath("//h3[text()='Answer Review']"))
            .await?;
        if !review.is_empty() {
            let text = review[0]
                .find(Locator::XPath("following-sibling::p"))
                .await?
                .text()
                .await?;
            ensure!(
                text.contains("questions correctly"),
                "unexpected review: {text}"
            );
            println!(
                "browser: answered {answered} questions; the quiz shows its review: {text}"
            );
            return Ok(());
        }
        let choices = client
            .find_all(Locator::Css(
                ".mdbook-quiz input[type=radio], .mdbook-quiz input[type=checkbox]",
            ))
            .await?;
        if let Some(first) = choices.first() {
            first.click().await?;
        } else {
            let text = client
                .find(Locator::Css(".mdbook-quiz input[type=text]"))
                .await
                .context("a question with neither options nor a text field")?;
            text.send_keys("0").await?;
        }
        client
            .find(Locator::Css(".mdbook-quiz input[type=submit]"))
            .await?
            .click()
            .await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the quiz never showed its answer review")
}
