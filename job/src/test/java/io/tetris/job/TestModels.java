package io.tetris.job;

import io.tetris.model.BundledModels;
import io.tetris.operators.config.TetrisOptions;
import org.apache.flink.configuration.Configuration;

/** The job's settings for the bundled models ({@link BundledModels} finds them). */
public final class TestModels {

    private TestModels() {}

    /** A configuration pointing the job at the bundled models. */
    public static Configuration configuration() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.DRAFT_MODEL, BundledModels.draft().toString());
        conf.set(TetrisOptions.TARGET_MODEL, BundledModels.target().toString());
        conf.set(TetrisOptions.TOKENIZER, BundledModels.tokenizer().toString());
        return conf;
    }
}
