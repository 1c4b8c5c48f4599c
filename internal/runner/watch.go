package runner

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// Manual skips the file watcher: the tests run again only on Enter.
	Manual bool
	// Stdin is where Enter is read from; nil means no keyboard.
	Stdin io.Reader
	// Debounce is how long the files must stay quiet after a change before
	// the tests run; zero means 300ms. Saving a file often writes it several
	// times, and an editor may save many files at once.
	Debounce time.Duration
}

// Watch runs Check (for a lesson, an exercise or the whole book), then runs it
// again whenever a .go file under the lesson directories changes, or when
// Enter is pressed, until ctx is done. When the files cannot be watched (or
// with Manual), it says so and runs again on Enter only.
func (w *Workbook) Watch(ctx context.Context, arg string, opts WatchOptions) error {
	tg, err := w.resolve(arg)
	if err != nil {
		return err
	}
	if opts.Debounce == 0 {
		opts.Debounce = 300 * time.Millisecond
	}
	var dirs []string
	for _, l := range tg.lessons {
		dirs = append(dirs, w.path(l.Dir))
	}

	prompt := "Press Enter to run the tests again, Ctrl-C to stop."
	var changes <-chan string
	if !opts.Manual {
		tw, err := watchTrees(ctx, dirs)
		if err != nil {
			w.printf("Cannot watch the lesson files (%v).\n", err)
		} else {
			defer tw.Close()
			changes = tw.changes
			prompt = "Watching for changes to .go files; press Enter to run the tests again, Ctrl-C to stop."
		}
	}
	loop := rerunLoop{
		changes: changes,
		enter:   readEnter(ctx, opts.Stdin),
		delay:   opts.Debounce,
		after:   time.After,
		run: func() {
			if w.Color {
				w.printf("\033[H\033[2J") // clear the screen
			}
			if _, err := w.Check(ctx, arg); err != nil && ctx.Err() == nil {
				w.printf("%s %v\n", w.style().fail(), err)
			}
			w.printf("\n%s\n", w.style().dim(prompt))
		},
	}
	loop.loop(ctx)
	return nil
}

// A rerunLoop decides when to run the tests again: once at the start, on
// Enter at once, and after a change once no further change has come for
// delay. It is the whole of watch mode's logic, with the clock and the
// inputs injected so that a test can drive it.
type rerunLoop struct {
	changes <-chan string   // changed files; nil never changes
	enter   <-chan struct{} // a line on stdin; nil never comes
	delay   time.Duration
	after   func(time.Duration) <-chan time.Time // time.After, or a fake
	run     func()
}

// loop runs until ctx is done.
func (l rerunLoop) loop(ctx context.Context) {
	l.run()
	var quiet <-chan time.Time // fires when the files have been quiet for delay
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-l.changes:
			if !ok {
				l.changes = nil
				continue
			}
			quiet = l.after(l.delay) // every change starts the wait over
		case _, ok := <-l.enter:
			if !ok {
				l.enter = nil
				continue
			}
			quiet = nil
			l.run()
		case <-quiet:
			quiet = nil
			l.run()
		}
	}
}

// readEnter turns each line read from r into a value on the channel, which
// is closed at the end of the input.
func readEnter(ctx context.Context, r io.Reader) <-chan struct{} {
	if r == nil {
		return nil
	}
	enter := make(chan struct{})
	go func() {
		defer close(enter)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case enter <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return enter
}

// A treeWatcher reports writes to .go files anywhere under a set of
// directories, following directories created after it started.
type treeWatcher struct {
	w       *fsnotify.Watcher
	changes chan string
}

// watchTrees starts watching every directory under dirs.
func watchTrees(ctx context.Context, dirs []string) (*treeWatcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	tw := &treeWatcher{w: fw, changes: make(chan string)}
	for _, d := range dirs {
		if err := tw.add(d); err != nil {
			fw.Close()
			return nil, err
		}
	}
	go tw.forward(ctx)
	return tw, nil
}

// add watches dir and every directory under it.
func (tw *treeWatcher) add(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		return tw.w.Add(p)
	})
}

// forward passes on the events that matter until the watcher closes.
func (tw *treeWatcher) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-tw.w.Events:
			if !ok {
				return
			}
			names := []string{ev.Name}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					// A new directory: watch it too. Files may have been
					// written into it before the watch began, so they count
					// as changes.
					_ = tw.add(ev.Name)
					names = goFiles(ev.Name)
				}
			}
			for _, name := range names {
				if !strings.HasSuffix(name, ".go") || ev.Op == fsnotify.Chmod {
					continue
				}
				select {
				case tw.changes <- name:
				case <-ctx.Done():
					return
				}
			}
		case _, ok := <-tw.w.Errors:
			if !ok {
				return
			}
			// An overflowed queue loses events, not the watch: carry on.
		}
	}
}

// goFiles lists the .go files under dir.
func goFiles(dir string) []string {
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			names = append(names, p)
		}
		return nil
	})
	return names
}

// Close stops watching.
func (tw *treeWatcher) Close() error { return tw.w.Close() }
