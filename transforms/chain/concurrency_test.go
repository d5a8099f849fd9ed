package chain_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/skiffstream/skiff/transforms/chain"
)

// TestChainConcurrentProcess: batches processed at once each get their own
// outputs (stateless steps run in several instances), and an aggregate,
// which runs in one instance, counts every record exactly once. Run it
// with -race.
func TestChainConcurrentProcess(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{Policy: chain.Policy{Action: chain.Skip}}, `
transforms:
  - uses: word-split
  - uses: regex-filter
    with: {regex: "^[a-z]+[0-9]*$"}
  - uses: running-count
`)
	const workers, batches = 4, 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts []int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				// Seven words, two of them "DROP", which is filtered out.
				in := batch(fmt.Sprintf("w%d DROP b%d", w, i), "x y", fmt.Sprintf("DROP z%d", i))
				res, err := c.Process(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				if got, want := inputsOf(res.Outputs), []int{0, 0, 1, 1, 2}; !reflect.DeepEqual(got, want) {
					t.Errorf("worker %d batch %d: inputs %v, want %v", w, i, got, want)
				}
				mu.Lock()
				for _, v := range valuesOf(res.Outputs) {
					n, err := strconv.Atoi(v)
					if err != nil {
						t.Errorf("count %q", v)
					}
					counts = append(counts, n)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Ints(counts)
	total := workers * batches * 5
	if len(counts) != total {
		t.Fatalf("%d counts, want %d", len(counts), total)
	}
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("counts %v: the aggregate did not see each record once", counts)
		}
	}
	st := c.Stats()
	if st[0].RecordsIn != workers*batches*3 || st[1].RecordsIn != workers*batches*7 || st[2].RecordsIn != int64(total) || st[1].Dropped != workers*batches*2 {
		t.Errorf("stats %+v", st)
	}
}
