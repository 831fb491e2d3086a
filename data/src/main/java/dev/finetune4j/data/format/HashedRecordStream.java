package dev.finetune4j.data.format;

import java.io.InputStream;

/**
 * What every format's reader shares: the input wrapped so that its SHA-256 and byte count cover exactly what was
 * read, and the factory that turns fields into records or quarantined lines. Subclasses add the parsing.
 */
abstract class HashedRecordStream implements RecordStream {
    final HashingInput input;
    final RecordFactory factory;

    HashedRecordStream(InputStream in, String file, ReadOptions options) {
        this.input = new HashingInput(in);
        this.factory = new RecordFactory(file, options.schema(), options.trustMeta());
    }

    @Override
    public final String sha256() {
        return input.sha256();
    }

    @Override
    public final long bytesRead() {
        return input.count();
    }
}
