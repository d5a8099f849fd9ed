package dev.skiff.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The records every phase produces or expects, generated the same way each time so that a
 * verify run after a server restart needs no state from the produce run.
 *
 * <p>One group per (codec, producer mode); in group g record i has key "key-(i%10)", a
 * compressible value that starts with "codec/mode/seq|", and five headers including a repeated
 * key ("dup") whose order must survive. Groups are produced one after another, so within a
 * partition the global index (g*PER_GROUP + i) must grow with the offset.
 */
final class Dataset {
    static final int PER_GROUP = 40;

    /** Codecs in kafka-clients' compression.type spelling, each sent by the default (idempotent) producer. */
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};

    record Group(String codec, boolean idempotent) {
        String mode() {
            return idempotent ? "idempotent" : "plain";
        }
    }

    record Header(String key, String value) {}

    record Rec(int index, String id, String key, String value, List<Header> headers) {}

    static List<Group> groups() {
        List<Group> gs = new ArrayList<>();
        for (String c : CODECS) {
            gs.add(new Group(c, true));
        }
        // One group from a producer with enable.idempotence=false: no producer id, no sequences.
        gs.add(new Group("lz4", false));
        return gs;
    }

    static List<Rec> records(int groupIndex, Group g) {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < PER_GROUP; i++) {
            String seq = String.format("%03d", i);
            String id = g.codec() + "/" + g.mode() + "/" + seq;
            String value = id + "|" + ("skiff-compat-" + (i % 5) + ";").repeat(20 + i);
            List<Header> hs = List.of(
                    new Header("codec", g.codec()),
                    new Header("mode", g.mode()),
                    new Header("seq", seq),
                    new Header("dup", "first"),
                    new Header("dup", "second"));
            out.add(new Rec(groupIndex * PER_GROUP + i, id, "key-" + (i % 10), value, hs));
        }
        return out;
    }

    static List<Rec> all() {
        List<Rec> out = new ArrayList<>();
        List<Group> gs = groups();
        for (int g = 0; g < gs.size(); g++) {
            out.addAll(records(g, gs.get(g)));
        }
        return out;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Dataset() {}
}
