/**
 * The Kafka contracts of the job and their codec.
 *
 * <p>Contracts (Avro, generated from {@code src/main/avro}): {@link
 * io.tetris.schemas.GenerationRequest} (requests topic), {@link io.tetris.schemas.TokenEvent}
 * (tokens topic), {@link io.tetris.schemas.GenerationResult} with {@link io.tetris.schemas.Usage},
 * {@link io.tetris.schemas.SpeculationStats} and {@link io.tetris.schemas.Timings} (results topic),
 * and {@link io.tetris.schemas.GenerationError} with {@link io.tetris.schemas.ErrorCode} (errors
 * topic). Every field is documented in the schema files.
 *
 * <p>Codec: {@link io.tetris.schemas.SingleObjectCodec} reads and writes Avro single-object
 * encoding for each type; {@link io.tetris.schemas.RequestDecoder} also accepts flat JSON requests;
 * both return {@link io.tetris.schemas.Decoded} results carrying a {@link
 * io.tetris.schemas.DecodeFailure} instead of throwing; {@link io.tetris.schemas.ErrorRecords}
 * turns a failure into a {@link io.tetris.schemas.GenerationError}.
 *
 * <p>Division of labour: decoding decides whether a value is a well-formed record (size, format,
 * schema fingerprint, syntax, field names and types, UTF-8, presence of {@code request_id}); the
 * job's validation step decides whether the values are acceptable (ids, prompt, ranges, limits).
 */
package io.tetris.schemas;
