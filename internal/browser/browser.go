// Package browser starts headless Chromium for the workbook's browser
// tests, through github.com/chromedp/chromedp.
//
// The tests use it to do what a person does with a lesson's page: open it,
// type, click, and read what it shows.
//
//	tab := browser.Start(t, 30*time.Second)
//	other, cancel := chromedp.NewContext(tab) // a second tab, same browser
//	defer cancel()
//	err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#chat")))
//
// Chromium is found by peer.Chromium: outside CI a missing browser skips
// the test, with CI=true it fails it.
package browser

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/websocket-workbook/workbook/internal/peer"
)

// Start starts headless Chromium and returns the context of its first tab.
// Everything ends after timeout, or when the test ends, whichever is first;
// a test that must close the browser earlier (before the server it talks
// to, say) calls chromedp.Cancel(tab).
//
// The browser runs without its sandbox, which cannot start as root (as in
// CI containers), without a GPU, and with /tmp instead of a small /dev/shm.
func Start(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	chrome := peer.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	return tab
}
