// Package jolt transforms JSON documents with the shift, default and remove
// operations of Fluvio's jolt (github.com/infinyon/fluvio-jolt), itself a
// port of Java Jolt's shiftr, defaultr and removr
// (https://github.com/bazaarvoice/jolt). Skiff's built-in jolt SmartModule
// runs it on each record, so a transforms.yml written for Fluvio's
// infinyon/jolt works as written.
//
// A spec is a JSON list of operations applied in order:
//
//	[
//	  {"operation": "shift",   "spec": {"id": "data.id", "name": "data.name"}},
//	  {"operation": "default", "spec": {"data": {"source": "http-connector"}}},
//	  {"operation": "remove",  "spec": {"data": {"internal": ""}}}
//	]
//
// # shift
//
// Builds a new document from the input. Each key of the spec matches keys
// of the input object at the same level (or indexes of an input array:
// "0", "1", ...); its value is the output path where the matched value
// goes, a list of output paths, or a nested spec applied to the matched
// value. Input not matched is dropped.
//
// Keys (the left side):
//   - a literal: "id"; "\" escapes a special character ("\\*", "\\@").
//   - "*" matches any key, "pre-*" and "*-*" parts of keys; what each star
//     matched is a group for &(N,M). A literal key wins over patterns;
//     among patterns the one with the most literal characters wins, then
//     the first written; one key matches at most one pattern.
//   - "a|b" matches either (each may hold stars).
//   - "$" writes the key matched here as the value; "$N", "$(N)" and
//     "$(N,M)" a key N levels up, or its Mth group.
//   - "@" writes the current value (the whole input at the top); "@(N,path)"
//     the value at the dot path below the value N levels up. "@" may have a
//     nested spec, applied to that value.
//   - "#text" writes the string text.
//
// Output paths (the right side) are dot-separated names; "" is the root of
// the output (the value becomes the whole document). In a name, "&" is
// the key matched at this level, "&N" or "&(N)" the key N levels up,
// "&(N,M)" its Mth group, and "@(N,path)" the text of a value of the
// input. A name may end with "[]" (append to an array), "[N]" or "[&N]"
// (that index; the slots before it are null until written).
//
// Each output place takes one value: writing a second value there, or
// writing inside a value a shift copied from the input, is an error for
// that document (use "[]" to collect several values). This is stricter
// than Java Jolt, which turns such writes into arrays.
//
// # default
//
// Adds the keys of the spec that the input object lacks and never changes
// a key that is present (null included). A nested spec object adds inside
// the key's object, creating it when missing. Keys may be "a|b" (each
// added) or patterns with "*", which apply their nested spec to every
// existing member (or array item) they match.
//
// # remove
//
// Removes the keys the spec names (the values are ignored) and, for keys
// whose value is a nested spec object, removes inside them. Keys may be
// "a|b" or patterns; on an array they match indexes.
//
// # Notes
//
//   - Object members keep their order: the input's for what a shift copies
//     and writes (it walks the input in order), the spec's for defaults.
//     An implementation keeping objects in sorted maps writes the same
//     members sorted; JSON readers see no difference.
//   - Numbers and strings pass through as written (no float rounding of
//     64-bit IDs, escapes kept). Input must be UTF-8 JSON nested at most
//     MaxDepth deep; anything else is a *SyntaxError.
//   - Values are immutable: a transform shares the unchanged parts of its
//     input with its output and never modifies the input.
//   - Costs per document: AppendApply (what the jolt module calls) and
//     Parser allocate nothing once warm, beyond keys a shift composes
//     ("&1-&0") and strings "$" writes; ParseJSON and ApplyValue, whose
//     values outlive the call, allocate a copy of the input and a few
//     chunks of members.
package jolt
