package io.tetris.operators.config;

import io.tetris.model.BundledModels;
import org.apache.flink.configuration.Configuration;

/** A Flink configuration pointing the job at the bundled models ({@link BundledModels}). */
public final class BundledModelsConfig {

    private BundledModelsConfig() {}

    public static Configuration configuration() {
        Configuration conf = new Configuration();
        conf.set(TetrisOptions.DRAFT_MODEL, BundledModels.draft().toString());
        conf.set(TetrisOptions.TARGET_MODEL, BundledModels.target().toString());
        conf.set(TetrisOptions.TOKENIZER, BundledModels.tokenizer().toString());
        return conf;
    }
}
