package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The helpdesk page in a real browser: Debian's chromium, headless, driven by chromedp. CI
// installs chromium and sets MAILSCOUT_REQUIRE_BROWSER=1 (.ci/run), which turns a missing
// browser into a failure; elsewhere these tests skip with a word on how to run them.
// MAILSCOUT_SCREENSHOTS=DIR saves what the browser showed, to look at.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MAILSCOUT_REQUIRE_BROWSER") != "" {
		t.Fatal("MAILSCOUT_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium: apt-get install chromium to run the browser tests (MAILSCOUT_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// browser is one headless chromium and what it saw: console errors, requests, dialogs.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	console  []string
	requests []string
	dialogs  []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // as root, chromium refuses to start without it
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		// Anything not on loopback goes to a proxy address where nothing listens, and no name
		// is looked up: whatever the page or the browser tried, it stays on this machine.
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b.watch(ctx)
	return b
}

// watch records, for the tab of ctx, every console error, request and dialog (and dismisses
// the dialog: an alert would block the page).
func (b *browser) watch(ctx context.Context) {
	messages := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, m.String()+" ("+m.URL+")")
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Type.String()+": "+ev.Message)
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
}

// check fails the test for any console error, any request that left the service, any dialog.
func (b *browser) check(t *testing.T, base string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // let the last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		t.Errorf("console: %s", m)
	}
	for _, d := range b.dialogs {
		t.Errorf("a dialog opened: %s", d)
	}
	for _, u := range b.requests {
		if !strings.HasPrefix(u, base+"/") && u != "about:blank" {
			t.Errorf("request outside the service: %s", u)
		}
	}
	if len(b.requests) < 3 {
		t.Errorf("only %d requests seen: %v", len(b.requests), b.requests)
	}
}

func do1(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func run1[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves the whole page, and each of the sections named, as NAME[-SECTION].png.
func screenshot(t *testing.T, ctx context.Context, name string, sections ...string) {
	t.Helper()
	dir := os.Getenv("MAILSCOUT_SCREENSHOTS")
	if dir == "" {
		return
	}
	save := func(file string, png []byte) {
		if err := os.WriteFile(filepath.Join(dir, file+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save(name, run1(t, ctx, "screenshot", chromedp.FullScreenshot(100)))
	save(name+"-top", run1(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
	for _, sel := range sections {
		save(name+"-"+strings.TrimPrefix(sel, "#"), run1(t, ctx, "screenshot of "+sel, chromedp.Screenshot(chromedp.ID(sel))))
	}
}

// countProgress makes the page remember, across the navigation to the result, how many
// progress lines it showed (sessionStorage survives a same-origin navigation). DevTools
// evaluation is not bound by the page's Content-Security-Policy; the page's own code is.
const countProgress = `(() => {
  sessionStorage.setItem("progress", "0");
  new MutationObserver(() => {
    const n = document.querySelectorAll("#progress-log li").length;
    if (n > Number(sessionStorage.getItem("progress"))) sessionStorage.setItem("progress", String(n));
  }).observe(document.getElementById("progress-log"), {childList: true});
})()`

func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	ts := newTestServer(t, func(c *Config) { c.Examples = []string{"alice@good.example", "alice@broken.example"} })
	ctx := b.ctx

	// An address typed into the form: live progress, then the result at its permalink.
	do1(t, ctx, "open the page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#target"))
	screenshot(t, ctx, "index")
	do1(t, ctx, "watch the progress", chromedp.Evaluate[chromedp.Void](countProgress))
	do1(t, ctx, "submit", chromedp.SendKeys("#target", "alice@"+domSlower), chromedp.Click(".big-form button"))
	do1(t, ctx, "progress shows", chromedp.WaitVisible("#progress-log li"))
	screenshot(t, ctx, "progress")
	do1(t, ctx, "result shows", chromedp.WaitVisible("#diagnosis"))
	loc := run1(t, ctx, "location", chromedp.Location())
	if !strings.HasPrefix(loc, ts.URL+"/r/") {
		t.Fatalf("the result is at %s, not a permalink", loc)
	}
	if n := run1(t, ctx, "progress count", chromedp.Evaluate[string](`sessionStorage.getItem("progress")`)); n == "0" || n == "" {
		t.Errorf("no progress line was shown before the result (%q)", n)
	}
	diagnosis := run1(t, ctx, "diagnosis", chromedp.Text("#diagnosis"))
	if !strings.Contains(diagnosis, "Works") || !strings.Contains(diagnosis, "imap."+domSlower) {
		t.Errorf("diagnosis %q", diagnosis)
	}
	if n := run1(t, ctx, "copy buttons", chromedp.Evaluate[int](`document.querySelectorAll("button.copy").length`)); n < 6 {
		t.Errorf("%d copy buttons, want one per setting", n)
	}
	if hidden := run1(t, ctx, "copy link", chromedp.Evaluate[bool](`document.querySelector(".copy-link").hidden`)); hidden {
		t.Error("the copy-link button was not revealed")
	}
	do1(t, ctx, "open a transcript", chromedp.Click("details.transcript summary"), chromedp.WaitVisible("details.transcript[open] pre"))
	screenshot(t, ctx, "result", "#configs", "#failures", "#dns")

	// The permalink, opened by a colleague in another tab, shows the same result.
	colleague, cancel := chromedp.NewContext(ctx)
	defer cancel()
	b.watch(colleague)
	do1(t, colleague, "open the permalink", chromedp.Navigate(loc), chromedp.WaitVisible("#diagnosis"))
	if again := run1(t, colleague, "diagnosis", chromedp.Text("#diagnosis")); again != diagnosis {
		t.Errorf("the permalink shows %q, the first view %q", again, diagnosis)
	}
	if h1 := run1(t, colleague, "title", chromedp.Text("h1")); h1 != "alice@"+domSlower {
		t.Errorf("the permalink is for %q", h1)
	}

	// A server whose greeting is a script: the page shows the text and runs nothing.
	do1(t, ctx, "check the hostile domain", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#target"),
		chromedp.SendKeys("#target", "alice@"+domHostile), chromedp.Click(".big-form button"), chromedp.WaitVisible("#diagnosis"))
	do1(t, ctx, "open every transcript", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
	greetings := run1(t, ctx, "greetings", chromedp.Evaluate[[]string](`[...document.querySelectorAll(".greeting")].map(e => e.textContent)`))
	if !containsString(greetings, xssGreeting) {
		t.Errorf("the greeting is not shown as text: %q", greetings)
	}
	scripts := run1(t, ctx, "scripts", chromedp.Evaluate[[]string](`[...document.scripts].map(s => s.src)`))
	if len(scripts) != 1 || scripts[0] != ts.URL+"/static/app.js" {
		t.Errorf("scripts in the page: %q", scripts)
	}
	screenshot(t, ctx, "hostile", "#configs")

	// On a phone.
	do1(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Navigate(loc), chromedp.WaitVisible("#diagnosis"))
	if w := run1(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the page is %d px wide on a 390 px phone: it scrolls sideways", w)
	}
	screenshot(t, ctx, "phone-result")
	do1(t, ctx, "phone index", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#target"))
	screenshot(t, ctx, "phone-index")

	b.check(t, ts.URL)
}

func containsString(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}
