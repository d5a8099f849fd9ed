package broker

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"regexp"
	"regexp/syntax"
	"sort"
)

// What the members of a consumer group subscribe to: topic names, and
// regular expressions (SubscribedTopicRegex, v1+) resolved against the
// topics that exist. The group epoch follows a hash of the subscribed
// topics' ids and partition counts, so a topic created, deleted or given
// partitions starts a new assignment, as Kafka's metadata hash does.

// compileTopicRegex compiles a subscription the way Kafka's RE2/J pattern
// is matched (Matcher.matches): against the whole topic name. Go's regexp is
// RE2 too, so the syntax is the same.
func compileTopicRegex(re string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + re + `)$`)
}

// checkTopicRegex returns what is wrong with a regex ("" if nothing), in
// the words of the parser ("missing closing )").
func checkTopicRegex(re string) string {
	_, err := regexp.Compile(re)
	var se *syntax.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.Code.String()
	}
	return err.Error()
}

// refreshSubscriptions resolves every subscribed regex against view and
// recomputes the metadata hash; it reports whether the hash changed.
func (cg *consumerGroup) refreshSubscriptions(view *topicView) bool {
	regexes := map[string][]string{}
	for _, m := range cg.members {
		if m.regex == "" || regexes[m.regex] != nil {
			continue
		}
		matched := []string{}
		if re, err := compileTopicRegex(m.regex); err == nil {
			for name := range view.byName {
				if re.MatchString(name) {
					matched = append(matched, name)
				}
			}
		}
		sort.Strings(matched)
		regexes[m.regex] = matched
	}
	cg.regexes = regexes
	cg.view = view
	old := cg.metadataHash
	cg.metadataHash = cg.hashTopics(view)
	return cg.metadataHash != old
}

// subscribedTopics returns every topic name a member subscribes to, by name
// or through a regex (Kafka's subscribedTopicNames, whether or not the topic
// exists).
func (cg *consumerGroup) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range cg.members {
		for _, t := range m.topics {
			out[t] = true
		}
		for _, t := range cg.regexes[m.regex] {
			out[t] = true
		}
	}
	return out
}

// subscribedIDs returns the ids of the existing topics a member subscribes
// to. A regex not resolved yet matches nothing.
func (cg *consumerGroup) subscribedIDs(m *consumerMember, view *topicView) map[[16]byte]bool {
	out := map[[16]byte]bool{}
	add := func(name string) {
		if t := view.byName[name]; t != nil {
			out[t.meta.ID] = true
		}
	}
	for _, t := range m.topics {
		add(t)
	}
	if m.regex != "" {
		for _, t := range cg.regexes[m.regex] {
			add(t)
		}
	}
	return out
}

// hashTopics hashes the name, id and partition count of every existing
// subscribed topic, in name order.
func (cg *consumerGroup) hashTopics(view *topicView) uint64 {
	names := cg.subscribedTopics()
	sorted := make([]string, 0, len(names))
	for n := range names {
		if view.byName[n] != nil {
			sorted = append(sorted, n)
		}
	}
	sort.Strings(sorted)
	h := fnv.New64a()
	var buf []byte
	for _, n := range sorted {
		t := view.byName[n]
		buf = binary.AppendUvarint(buf[:0], uint64(len(n)))
		buf = append(buf, n...)
		buf = append(buf, t.meta.ID[:]...)
		buf = binary.AppendUvarint(buf, uint64(len(t.parts)))
		h.Write(buf)
	}
	return h.Sum64()
}
