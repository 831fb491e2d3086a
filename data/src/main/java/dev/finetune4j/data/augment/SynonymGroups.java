package dev.finetune4j.data.augment;

import java.io.Serializable;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Synonyms from groups whose members are synonyms of each other (a dictionary line, a synset). Each word points
 * at the groups it is in rather than holding a copy of their members, so memory and loading time grow with the
 * dictionary's size: copies took time and memory quadratic in a group's size, and one line of 20,000 words ran
 * out of memory. Immutable and thread-safe.
 */
final class SynonymGroups implements SynonymSource {
    /**
     * Where a word sits.
     *
     * @param group the group's index
     * @param index the word's index in that group
     */
    private record Member(int group, int index) implements Serializable {
    }

    private final List<List<String>> groups;
    private final Map<String, Member[]> members;

    /**
     * A source over {@code groups}, in order; a word in several groups has their members as synonyms, each once.
     *
     * @param groups the groups of words; repeated words in a group count once
     */
    SynonymGroups(List<List<String>> groups) {
        List<List<String>> distinct = new ArrayList<>(groups.size());
        Map<String, List<Member>> index = new HashMap<>();
        for (List<String> g : groups) {
            List<String> words = List.copyOf(new LinkedHashSet<>(g));
            for (int i = 0; i < words.size(); i++) {
                index.computeIfAbsent(words.get(i), w -> new ArrayList<>(1)).add(new Member(distinct.size(), i));
            }
            distinct.add(words);
        }
        this.groups = List.copyOf(distinct);
        this.members = new HashMap<>(index.size() * 2);
        index.forEach((word, in) -> members.put(word, in.toArray(Member[]::new)));
    }

    /**
     * The other members of the word's group, as a view; for a word in several groups, their union, built per call
     * at a cost that grows with those groups' sizes (a few words each in real dictionaries).
     */
    @Override
    public List<String> synonyms(String word) {
        Member[] in = members.get(word);
        if (in == null) {
            return List.of();
        }
        if (in.length == 1) {
            return new AllBut(groups.get(in[0].group()), in[0].index());
        }
        Set<String> union = new LinkedHashSet<>();
        for (Member m : in) {
            union.addAll(groups.get(m.group()));
        }
        union.remove(word);
        return List.copyOf(union);
    }

    /** A group without the member at {@code skip}: a view, so a word's synonyms cost no copy of its group. */
    private static final class AllBut extends AbstractList<String> {
        private final List<String> group;
        private final int skip;

        AllBut(List<String> group, int skip) {
            this.group = group;
            this.skip = skip;
        }

        @Override
        public String get(int i) {
            if (i < 0 || i >= size()) {
                throw new IndexOutOfBoundsException("index " + i + " of " + size() + " synonyms");
            }
            return group.get(i < skip ? i : i + 1);
        }

        @Override
        public int size() {
            return group.size() - 1;
        }
    }
}
