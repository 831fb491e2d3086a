package dev.finetune4j.samples.cli;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code serve --base-quantization}: auto serves the NF4-quantized base when every adapter given at start was trained
 * with QLoRA, the full-precision one otherwise (with a note when QLoRA adapters are among them); nf4 and none force it.
 * Each case starts the server in-process (port 0) and looks at the model it serves.
 */
class ServeBaseQuantizationTest {
    private static final LoraConfig ADAPTER = LoraConfig.builder().r(4).targetModules("q_proj")
            .initLoraWeights(LoraInit.RANDOM).build();

    @TempDir
    static Path dir;
    private static Path base;
    private static Path qlora;
    private static Path lora;

    @BeforeAll
    static void writeModelAndAdapters() throws IOException {
        base = CliTestSupport.tinyModel(dir.resolve("base"));
        qlora = dir.resolve("qlora");
        try (LanguageModel m = AutoModel.loadCausalLM(base)) {
            QloraInjector.wrap(m, ADAPTER).save(qlora);
        }
        lora = dir.resolve("lora");
        try (LanguageModel m = AutoModel.loadCausalLM(base)) {
            Peft.wrap(m, ADAPTER).save(lora);
        }
    }

    /** What starting the server printed, which base it served and its first layer's dequantized q_proj weight. */
    private record Started(boolean quantized, String base, String out, float[] qProj) {
    }

    private static Started serve(String... options) {
        List<String> args = new ArrayList<>(List.of("serve", "--model", base.toString(), "--port", "0"));
        args.addAll(List.of(options));
        CommandLine cl = Finetune4j.commandLine();
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        ServeCommand command = (ServeCommand) cl.parseArgs(args.toArray(String[]::new)).subcommand().commandSpec().userObject();
        try (ServeCommand.Serving s = command.start(command.device.resolve(), null)) {
            boolean quantized = s.engine.baseQuantized();
            assertEquals(quantized, Peft.quantizedBase(s.model), "the engine reports the model it serves");
            return new Started(quantized, s.base, out.toString(), qProj(s.model));
        }
    }

    @Test
    void autoQuantizesTheBaseWhenEveryAdapterIsQlora() {
        Started s = serve("--adapter", "a=" + qlora, "--adapter", "b=" + qlora);
        assertTrue(s.quantized());
        assertEquals("base NF4-quantized", s.base());
        assertFalse(s.out().contains("note: adapters"), s.out());
    }

    /**
     * Under bf16-mixed the base loads in bf16; an NF4 base made from those bf16 values (as before) differs from the one
     * training quantized from the float32 checkpoint. It is now quantized from the checkpoint's values as it loads.
     */
    @Test
    void theServedNf4BaseIsTrainingsEvenUnderBf16Mixed() {
        float[] trained;
        try (LanguageModel m = AutoModel.loadCausalLM(base)) {
            QloraInjector.quantize(m); // what training did: PeftMethods quantizes the checkpoint's float32 values
            trained = qProj(m);
        }
        for (String precision : new String[] {"f32", "bf16-mixed"}) {
            Started s = serve("--precision", precision, "--adapter", "quant=" + qlora);
            assertTrue(s.quantized(), precision);
            assertArrayEquals(trained, s.qProj(), precision);
        }
    }

    /** The first layer's q_proj weight, dequantized; under the served adapters it is their {@code base_layer}'s. */
    private static float[] qProj(LanguageModel m) {
        String name = "model.layers.0.self_attn.q_proj.";
        var weights = m.stateDict();
        return weights.getOrDefault(name + "weight", weights.get(name + "base_layer.weight")).toFloatArray();
    }

    @Test
    void autoKeepsFullPrecisionForMixedAdaptersAndNamesTheQloraOnes() {
        Started s = serve("--adapter", "plain=" + lora, "--adapter", "quant=" + qlora);
        assertFalse(s.quantized());
        assertEquals("base full precision", s.base());
        assertTrue(s.out().contains("note: adapters [quant] were trained with QLoRA")
                && s.out().contains("--base-quantization nf4 serves them as trained"), s.out());
    }

    @Test
    void autoKeepsFullPrecisionWithoutAdaptersOrWithPlainOnes() {
        Started none = serve();
        assertFalse(none.quantized());
        assertFalse(none.out().contains("note: adapters"), none.out());
        assertFalse(serve("--adapter", "plain=" + lora).quantized());
    }

    @Test
    void nf4AndNoneForceTheBase() {
        assertTrue(serve("--base-quantization", "nf4").quantized(), "no adapter at start");
        assertTrue(serve("--base-quantization", "NF4", "--adapter", "plain=" + lora).quantized());
        Started forced = serve("--base-quantization", "none", "--adapter", "quant=" + qlora);
        assertFalse(forced.quantized());
        assertFalse(forced.out().contains("note: adapters"), "forced: the log warns about the adapter, no note " + forced.out());
    }

    @Test
    void anUnknownValueIsBadInputListingTheValues() {
        CliTestSupport.Run r = CliTestSupport.run("serve", "--model", base.toString(), "--base-quantization", "int8",
                "--port", "0");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("'int8' is not one of auto, nf4, none"), r.err());
    }
}
