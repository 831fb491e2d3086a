package dev.finetune4j.samples.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --distributed}: two ranks (threads here, processes in use) meet through torchrun's variables over TCP
 * and train the adapter a single process trains with twice the gradient accumulation, byte for byte; rank 0 alone
 * writes the output.
 */
class TrainDistributedCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void tinyModelAndData() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("train.jsonl"), TrainCommandTest.sftRows());
    }

    @Test
    void twoRanksTrainTheAdapterOfOneRankWithTwiceTheAccumulation() throws Exception {
        CliTestSupport.Run single = CliTestSupport.run("train", "-c", config(2).toString(), "-o",
                dir.resolve("single").toString());
        assertEquals(ExitCodes.OK, single.exitCode(), single.err());

        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        Path run = dir.resolve("distributed");
        List<CliTestSupport.Run> ranks = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<CliTestSupport.Run>> futures = new ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                Map<String, String> env = Map.of("RANK", Integer.toString(rank), "WORLD_SIZE", "2",
                        "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port),
                        "FINETUNE4J_DIST_TIMEOUT", "60");
                futures.add(threads.submit(() -> runWith(env, "train", "-c", config(1).toString(), "-o", run.toString(),
                        "--distributed", "--device", "cpu")));
            }
            for (Future<CliTestSupport.Run> f : futures) {
                ranks.add(f.get(120, TimeUnit.SECONDS));
            }
        } finally {
            threads.shutdownNow();
        }
        for (CliTestSupport.Run r : ranks) {
            assertEquals(ExitCodes.OK, r.exitCode(), r.err());
            assertTrue(r.out().contains("gradients summed over TCP through host memory (the CPU has no NCCL)"), r.out());
        }
        assertTrue(ranks.get(0).out().startsWith("rank 0 of 2"), ranks.get(0).out());
        assertTrue(ranks.get(1).out().contains("rank 0 writes the adapter"), ranks.get(1).out());
        assertArrayEquals(Files.readAllBytes(dir.resolve("single/adapter/adapter_model.safetensors")),
                Files.readAllBytes(run.resolve("adapter/adapter_model.safetensors")));
    }

    @Test
    void aMissingVariableIsBadInputNamingIt() throws Exception {
        CliTestSupport.Run r = runWith(Map.of("WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500"),
                "train", "-c", config(1).toString(), "--distributed", "--device", "cpu");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.out());
        assertTrue(r.err().contains("--distributed: ") && r.err().contains("RANK"), r.err());
        assertFalse(Files.exists(dir.resolve("run")), "nothing written");
    }

    /** Two steps of SFT on the 8 rows in micro-batches of 4, accumulating {@code accumulation}. */
    private Path config(int accumulation) throws IOException {
        Path file = dir.resolve("train-" + accumulation + ".yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}
                data: {train: train.jsonl, prompt_template: "Q: {prompt}\\nA: ", max_length: 64}
                training: {max_steps: 2, micro_batch_size: 4, gradient_accumulation_steps: %d, learning_rate: 1.0e-3,
                           seed: 1}
                output: run
                """.formatted(accumulation));
        return file;
    }

    /** The tool in-process with {@code environment} as {@code train}'s variables. */
    private static CliTestSupport.Run runWith(Map<String, String> environment, String... args) {
        CommandLine cl = Finetune4j.commandLine();
        TrainCommand train = cl.getSubcommands().get("train").getCommand();
        train.environment = environment;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new CliTestSupport.Run(code, out.toString(), err.toString());
    }
}
