package io.tetris.job.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code tetris} command: demo, serve, generate, gateway. Also the job's entry point on a
 * cluster.
 */
@Command(
        name = "tetris",
        mixinStandardHelpOptions = true,
        version = "tetris-flink 0.1.0",
        description = {
            "Stream-native speculative decoding with TETRIS draft-token selection on Apache Flink."
        },
        subcommands = {
            DemoCommand.class,
            ServeCommand.class,
            GenerateCommand.class,
            GatewayCommand.class,
            OverheadCommand.class,
            BenchCommand.class,
            LoadCommand.class,
            BulkCommand.class,
            ModelsCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @Spec private CommandSpec spec;

    private Main() {}

    /** Without a command: show what the commands are. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line; returns its exit code (2 for bad usage or settings). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(
                (e, commandLine, parseResult) -> {
                    if (e instanceof IllegalArgumentException
                            || e instanceof IllegalStateException) {
                        commandLine.getErr().println("error: " + e.getMessage());
                        return 2;
                    }
                    throw e;
                });
        return cli.execute(args);
    }
}
