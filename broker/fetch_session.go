package broker

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Fetch sessions (KIP-227). A client opens a session with a full fetch
// (session id 0, epoch 0); later fetches (same id, epoch+1) name only the
// partitions whose fetch position changed and the partitions to forget, and
// the response carries only partitions with news: records, an error, or a
// changed high watermark, last stable offset or log start offset.
//
// Sessions are per broker, not per connection. At most maxFetchSessions are
// kept; the least recently used is evicted, and sessions idle longer than
// fetchSessionIdle are dropped. An evicted session answers
// FETCH_SESSION_ID_NOT_FOUND and the client starts a new one.

const (
	maxFetchSessions = 1000
	fetchSessionIdle = 2 * time.Minute
)

type sessionKey struct {
	topic string
	part  int32
}

type sessionPart struct {
	key          sessionKey
	topicID      [16]byte
	fetchOffset  int64
	maxBytes     int32
	leaderEpoch  int32
	sentHW       int64
	sentLSO      int64
	sentLogStart int64
}

type fetchSession struct {
	id       int32
	epoch    int32 // the epoch the next request must carry
	parts    map[sessionKey]*sessionPart
	order    []sessionKey // insertion order: responses keep it
	lastUsed time.Time
}

type fetchSessions struct {
	mu     sync.Mutex
	nextID int32
	m      map[int32]*fetchSession
}

func newFetchSessions() *fetchSessions {
	return &fetchSessions{nextID: 1, m: map[int32]*fetchSession{}}
}

// create opens a new session, evicting the least recently used or idle
// ones when full.
func (fs *fetchSessions) create() *fetchSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := time.Now()
	for id, s := range fs.m {
		if now.Sub(s.lastUsed) > fetchSessionIdle {
			delete(fs.m, id)
		}
	}
	if len(fs.m) >= maxFetchSessions {
		var oldest *fetchSession
		for _, s := range fs.m {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		delete(fs.m, oldest.id)
	}
	id := fs.nextID
	for fs.m[id] != nil || id <= 0 {
		id++
		if id <= 0 {
			id = 1
		}
	}
	fs.nextID = id + 1
	s := &fetchSession{id: id, epoch: 1, parts: map[sessionKey]*sessionPart{}, lastUsed: now}
	fs.m[id] = s
	return s
}

func (fs *fetchSessions) remove(id int32) {
	fs.mu.Lock()
	delete(fs.m, id)
	fs.mu.Unlock()
}

// next returns the session for an incremental fetch and advances its epoch,
// or the error code to answer with.
func (fs *fetchSessions) next(id, epoch int32) (*fetchSession, int16) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	s := fs.m[id]
	if s == nil {
		return nil, kerr.FetchSessionIDNotFound.Code
	}
	if s.epoch != epoch {
		return nil, kerr.InvalidFetchSessionEpoch.Code
	}
	s.epoch++
	if s.epoch <= 0 {
		s.epoch = 1
	}
	s.lastUsed = time.Now()
	return s, 0
}

func (s *fetchSession) upsert(k sessionKey, id [16]byte, offset int64, maxBytes, epoch int32) {
	p := s.parts[k]
	if p == nil {
		p = &sessionPart{key: k, sentHW: -1, sentLSO: -1, sentLogStart: -1}
		s.parts[k] = p
		s.order = append(s.order, k)
	}
	p.topicID = id
	p.fetchOffset = offset
	p.maxBytes = maxBytes
	p.leaderEpoch = epoch
}

func (s *fetchSession) forget(k sessionKey) {
	if s.parts[k] == nil {
		return
	}
	delete(s.parts, k)
	for i, o := range s.order {
		if o == k {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}
