package dev.finetune4j.peft.mix;

import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.TargetModules;
import dev.finetune4j.peft.lora.LoraConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Combines LoRA adapters of one base model into one LoRA adapter, without training: the rules of PEFT's
 * {@code LoraModel.add_weighted_adapter}, on adapter folders rather than on a loaded model.
 *
 * <pre>{@code
 * try (AdapterFiles legal = AdapterFiles.read(Path.of("adapters/legal"));
 *      AdapterFiles support = AdapterFiles.read(Path.of("adapters/support"))) {
 *     MixedAdapter both = AdapterMix.combine(List.of(new WeightedAdapter(legal, 1.0), new WeightedAdapter(support, 1.0)),
 *             CombinationType.CAT, MixOptions.defaults());
 *     both.save(Path.of("adapters/legal+support"));
 * }
 * }</pre>
 *
 * <p>With adapter i's factors A_i (r_i, in), B_i (out, r_i), scaling s_i (alpha / r, or alpha / sqrt(r) with rsLoRA)
 * and weight w_i, per module:
 * <ul>
 *   <li>{@code cat}: A = [w_1 s_1 A_1; w_2 s_2 A_2; ...], B = [B_1, B_2, ...]; B A = sum_i w_i s_i B_i A_i exactly,
 *       rank sum_i r_i.</li>
 *   <li>{@code svd} types: the deltas s_i B_i A_i are combined with weights w_i (summed, or pruned and summed, or by
 *       TIES), then B = U[:, :k] diag(S[:k]), A = V^T[:k, :] (k = svd_rank, default max r_i). At k &gt;= sum r_i, plain
 *       {@code svd} is exact. NOTE: PEFT's main branch (0.21) also multiplies each weight by s_i here, so s_i enters
 *       twice; that is a bug (fix: PEFT PR #3111), and this class applies s_i once. Both agree when alpha == r.</li>
 *   <li>{@code linear}, {@code ties}, {@code dare_linear}, {@code dare_ties}, {@code magnitude_prune}: the rule is
 *       applied to the A's with weights sign(w_i s_i) sqrt(|w_i s_i|) and to the B's with sqrt(|w_i s_i|). For
 *       {@code linear}, B A = (sum_i c_i B_i)(sum_j sign_j c_j A_j) with c_i = sqrt(|w_i s_i|): the weighted deltas
 *       plus cross terms c_i c_j B_i A_j, not the sum of the deltas. All adapters need the same rank.</li>
 * </ul>
 * A module only some adapters adapt is combined from those. One adapter alone is always combined by {@code linear}
 * (as PEFT does), which gives exactly w s B A. The result has lora_alpha = r (scaling 1) and no rsLoRA.
 *
 * <p>DARE's random drops come from a {@link SplittableRandom} seeded by {@link MixOptions#seed()} and cannot equal
 * torch's draws; at density 1 DARE keeps everything and equals its non-random type. Thread safety: stateless.
 */
public final class AdapterMix {
    private AdapterMix() {
    }

    /**
     * Combines {@code adapters} by {@code type}.
     *
     * @param adapters the adapters and their weights, at least one; the first gives the combined adapter's other
     *                 settings (dropout, task type, fan_in_fan_out, ...)
     * @param type     the combination rule
     * @param options  density, SVD rank and clamp, sign election and seed, as the type needs
     * @return the combined adapter, in memory; {@link MixedAdapter#save} writes it
     * @throws IllegalArgumentException when the list is empty or an option does not fit the type
     * @throws dev.finetune4j.peft.PeftException when the adapters cannot be mixed (not LoRA, DoRA, different base
     *                                           models, ranks the type cannot take, incomplete files ...)
     */
    public static MixedAdapter combine(List<WeightedAdapter> adapters, CombinationType type, MixOptions options) {
        if (adapters == null || adapters.isEmpty()) {
            throw new IllegalArgumentException("no adapters to mix: give at least one adapter (two or more to combine)");
        }
        MixChecks.options(type, options);
        List<LoraConfig> configs = MixChecks.loraConfigs(adapters);
        CombinationType effective = adapters.size() == 1 ? CombinationType.LINEAR : type;
        List<SortedMap<String, AdapterFactors>> factors = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            factors.add(AdapterFactors.read(adapters.get(i).adapter(), configs.get(i)));
        }
        SortedSet<String> modules = new TreeSet<>();
        factors.forEach(f -> modules.addAll(f.keySet()));
        List<Integer> ranks = configs.stream()
                .map(c -> c.rankPattern().values().stream().reduce(c.r(), Math::max)).toList();
        int rank = combinedRank(effective, ranks, options, adapters);
        SplittableRandom random = new SplittableRandom(options.seed());
        SortedMap<String, Matrix> out = new TreeMap<>();
        for (String module : modules) {
            MixChecks.sameShapes(module, factors, adapters);
            List<Source> sources = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                AdapterFactors f = factors.get(i).get(module);
                if (f != null) {
                    sources.add(new Source(f, adapters.get(i).weight(), configs.get(i).scalingFor(module),
                            adapters.get(i).adapter().dir()));
                }
            }
            AdapterFactors combined = switch (effective.form()) {
                case STACKED_RANKS -> FactorRules.stacked(sources);
                case FACTORS -> FactorRules.entryWise(effective, module, sources, options, random);
                case DELTA_SVD -> FactorRules.truncatedSvd(effective, sources, rank, options, random);
            };
            out.put(module + AdapterFactors.A_SUFFIX, combined.a().padRows(rank));
            out.put(module + AdapterFactors.B_SUFFIX, combined.b().padCols(rank));
        }
        LoraConfig config = configs.getFirst().toBuilder().r(rank).loraAlpha(rank).targetModules(unionOfTargets(configs))
                .rankPattern(Map.of()).alphaPattern(Map.of()).useRslora(false).build();
        return new MixedAdapter(config, out, adapters.getFirst().adapter().baseModelFacts());
    }

    /** One adapter's factors at a module, its weight, its scaling there and its folder (for messages). */
    record Source(AdapterFactors factors, double weight, double scaling, Path dir) {
    }

    /** PEFT's rank of the result: the common rank, the sum of the ranks, or svd_rank (default the largest). */
    private static int combinedRank(CombinationType type, List<Integer> ranks, MixOptions options,
                                    List<WeightedAdapter> adapters) {
        return switch (type.form()) {
            case STACKED_RANKS -> Math.toIntExact(ranks.stream().mapToLong(Integer::longValue).sum());
            case DELTA_SVD -> options.svdRank() != null ? options.svdRank() : ranks.stream().reduce(0, Math::max);
            case FACTORS -> {
                if (new LinkedHashSet<>(ranks).size() > 1) {
                    throw new PeftException(type.pythonName() + " combines the A and B factors entry by "
                            + "entry, so every adapter needs the same rank; found " + describeRanks(ranks, adapters)
                            + ": use cat (rank = the sum) or svd (rank = svd_rank), which take any ranks");
                }
                yield ranks.getFirst();
            }
        };
    }

    private static String describeRanks(List<Integer> ranks, List<WeightedAdapter> adapters) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < ranks.size(); i++) {
            parts.add("r " + ranks.get(i) + " (" + adapters.get(i).adapter().dir() + ")");
        }
        return String.join(", ", parts);
    }

    /** PEFT's union: the names of every adapter, or the regexes joined as {@code (r1)|(r2)}. */
    private static TargetModules unionOfTargets(List<LoraConfig> configs) {
        if (configs.getFirst().targetModules() instanceof TargetModules.Regex) {
            return TargetModules.regex(configs.stream().map(c -> "(" + ((TargetModules.Regex) c.targetModules()).regex() + ")")
                    .collect(Collectors.joining("|")));
        }
        LinkedHashSet<String> names = new LinkedHashSet<>();
        configs.forEach(c -> names.addAll(((TargetModules.Names) c.targetModules()).names()));
        return new TargetModules.Names(List.copyOf(names));
    }
}
