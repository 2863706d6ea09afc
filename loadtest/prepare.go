package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"toso/phone"
	"toso/store"
)

// prepareChunk is how many phones are signed in per write transaction.
const prepareChunk = 500

// Prepare signs phones in ahead of a storm, as they were the day before:
// for the first n accounts of st (in the order Run plays them) it creates
// the phone's database in dir (a new device id), opens a session on that
// device without a password (store.Bulk.OpenSession: a login would hash
// one, ~30 ms each) and hands the phone its refresh token. A later
// Run with SignedIn and the same PhoneDir then starts each phone with a
// refresh, as in the real morning storm. The phones hold no rows and no
// cursors yet: their first pull starts from cursor 0. It returns the number
// of phones prepared.
func Prepare(ctx context.Context, st *store.Store, dir string, n int, ttl time.Duration, progress io.Writer) (int, error) {
	accts, err := Accounts(ctx, st.Path(), n)
	if err != nil {
		return 0, err
	}
	if len(accts) == 0 {
		return 0, errors.New("prepare phones: no member accounts in the database")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	start := time.Now()
	phones := make([]*phone.Client, prepareChunk)
	for lo := 0; lo < len(accts); lo += prepareChunk {
		chunk := accts[lo:min(lo+prepareChunk, len(accts))]
		// Phone databases are opened (and closed) by a few goroutines: each
		// is a small SQLite file with its own fsyncs.
		err := parallel(len(chunk), func(k int) error {
			c, err := phone.Open(ctx, filepath.Join(dir, strconv.Itoa(lo+k)+".db"), phone.Config{BaseURL: "http://127.0.0.1"})
			phones[k] = c
			return err
		})
		var sessions []*store.Session
		if err == nil {
			err = st.Bulk(ctx, store.System, func(b *store.Bulk) error {
				sessions = sessions[:0]
				for k, a := range chunk {
					s, err := b.OpenSession(ctx, a.UserID, store.DeviceInfo{ID: phones[k].DeviceID(), Platform: "android", AppVersion: "1.0.0"}, ttl)
					if err != nil {
						return fmt.Errorf("prepare phone %d (user %d): %w", lo+k, a.UserID, err)
					}
					sessions = append(sessions, s)
				}
				return nil
			})
		}
		if err == nil {
			err = parallel(len(chunk), func(k int) error { return phones[k].UseSession(ctx, sessions[k].RefreshToken) })
		}
		for k := range chunk {
			if phones[k] != nil {
				phones[k].Close()
				phones[k] = nil
			}
		}
		if err != nil {
			return lo, err
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rsigning phones in: %d/%d %s   ", lo+len(chunk), len(accts), time.Since(start).Round(time.Second))
		}
	}
	if progress != nil {
		fmt.Fprintln(progress)
	}
	return len(accts), nil
}

// parallel runs fn(0..n-1) on four goroutines and returns the first error.
func parallel(n int, fn func(k int) error) error {
	const workers = 4
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < n; k += workers {
				if err := fn(k); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
