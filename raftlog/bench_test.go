package raftlog

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkRaftlogAppend measures the produce storage path: batches of
// 100-byte records appended through Raft to segments (synced), from six
// partitions at once with several batches in flight each, as pipelined
// produce requests do.
func BenchmarkRaftlogAppend(b *testing.B) {
	for _, size := range []int{16 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("parts=6/batch=%dKiB", size>>10), func(b *testing.B) {
			s, err := OpenStore(b.TempDir(), StoreOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const parts, inflight = 6, 256
			ps := make([]*Partition, parts)
			for i := range ps {
				ps[i] = openTestPartition(b, s, uint64(i+1))
				defer ps[i].Close()
			}
			batch := cmdBuf(testBatch(b, size/110, 100, -1, -1, -1))
			b.SetBytes(int64(len(batch) - 1))
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N/parts + 1
			for _, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					futs := make(chan *AppendFuture, inflight)
					done := make(chan struct{})
					go func() {
						for f := range futs {
							if r := f.Wait(); r.Err != nil {
								b.Error(r.Err)
							}
						}
						close(done)
					}()
					for range per {
						futs <- p.Append(batch)
					}
					close(futs)
					<-done
				}()
			}
			wg.Wait()
		})
	}
}

// BenchmarkRaftlogRead measures fetch from storage: reading 1 MiB at a time
// from a partition of 16 KiB batches.
func BenchmarkRaftlogRead(b *testing.B) {
	s := openTestStore(b, nil, b.TempDir())
	defer s.Close()
	p := openTestPartition(b, s, 1)
	defer p.Close()
	batch := testBatch(b, 150, 100, -1, -1, -1)
	for range 640 {
		mustAppend(b, p, batch)
	}
	_, hw := p.Offsets()
	buf := make([]byte, 0, 2<<20)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	var off int64
	for range b.N {
		out, err := p.Read(off, ReadOptions{MaxBytes: 1 << 20, MinOne: true}, buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		hs := validateNoErr(out)
		last := hs[len(hs)-1]
		off = last.BaseOffset + int64(last.LastOffsetDelta) + 1
		if off >= hw {
			off = 0
		}
	}
}
