package io.tetris.job.state;

import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.ConfigurableStateBackend;
import org.apache.flink.runtime.state.OperatorStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.StateBackendFactory;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.util.FlinkException;

/**
 * Flink's heap state backend, except that a checkpoint whose state cannot be read ends the job
 * instead of being retried forever. Flink restarts a job whose restore failed from the same
 * checkpoint again and again, so a corrupted state file would keep it failing without progress;
 * ended, the job hands the decision back to {@code serve}, which falls back to an older retained
 * checkpoint ({@link DurableState}).
 */
public final class RestoreGuardBackend implements ConfigurableStateBackend {

    private static final long serialVersionUID = 1L;

    /** Starts the message of the failure this backend raises; {@code serve} looks for it. */
    public static final String MARKER = "tetris: the checkpoint's state cannot be restored";

    private final StateBackend delegate;

    public RestoreGuardBackend() {
        this(new HashMapStateBackend());
    }

    private RestoreGuardBackend(StateBackend delegate) {
        this.delegate = delegate;
    }

    /** Loads the backend from {@code state.backend.type} set to this factory's class name. */
    public static final class Factory implements StateBackendFactory<RestoreGuardBackend> {
        @Override
        public RestoreGuardBackend createFromConfig(ReadableConfig config, ClassLoader classLoader)
                throws IllegalConfigurationException {
            return new RestoreGuardBackend(
                    new HashMapStateBackend().configure(config, classLoader));
        }
    }

    @Override
    public StateBackend configure(ReadableConfig config, ClassLoader classLoader)
            throws IllegalConfigurationException {
        return delegate instanceof ConfigurableStateBackend c
                ? new RestoreGuardBackend(c.configure(config, classLoader))
                : this;
    }

    @Override
    public String getName() {
        return delegate.getName();
    }

    @Override
    public <K> CheckpointableKeyedStateBackend<K> createKeyedStateBackend(
            KeyedStateBackendParameters<K> parameters) throws Exception {
        if (parameters.getStateHandles().isEmpty()) {
            return delegate.createKeyedStateBackend(parameters);
        }
        try {
            return delegate.createKeyedStateBackend(parameters);
        } catch (Exception e) {
            throw unrestorable(parameters.getOperatorIdentifier(), "keyed", e);
        }
    }

    @Override
    public OperatorStateBackend createOperatorStateBackend(
            OperatorStateBackendParameters parameters) throws Exception {
        if (parameters.getStateHandles().isEmpty()) {
            return delegate.createOperatorStateBackend(parameters);
        }
        try {
            return delegate.createOperatorStateBackend(parameters);
        } catch (Exception e) {
            throw unrestorable(parameters.getOperatorIdentifier(), "operator", e);
        }
    }

    private static SuppressRestartsException unrestorable(
            String operator, String kind, Exception cause) {
        return new SuppressRestartsException(
                new FlinkException(
                        MARKER + " (" + kind + " state of " + operator + "): " + cause, cause));
    }

    @Override
    public boolean useManagedMemory() {
        return delegate.useManagedMemory();
    }

    @Override
    public boolean supportsNoClaimRestoreMode() {
        return delegate.supportsNoClaimRestoreMode();
    }

    @Override
    public boolean supportsSavepointFormat(SavepointFormatType formatType) {
        return delegate.supportsSavepointFormat(formatType);
    }
}
