package io.tetris.model.ortnative;

import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.reflect.Field;

/**
 * A minimal JNA shim over ONNX Runtime's C API ({@code const OrtApi*}) for what the official Java
 * API lacks: IoBinding, and values that stay in native (later: device) memory between runs.
 *
 * <p>The {@code OrtApi} struct is a table of function pointers in declaration order, append-only
 * across versions; a function is reached by reading the pointer at {@code index * 8} and calling it
 * through {@link Function}. The indices below are those of ORT 1.29 (ORT_API_VERSION 29); see
 * {@code docs/native-kv.md} for how they were derived. The table pointer itself is the one the
 * official jar obtained ({@code OnnxRuntime.ortApiHandle}), so both APIs talk to the same loaded
 * {@code libonnxruntime}; session and value handles come from the official objects by reflection.
 *
 * <p>Every {@code OrtStatus*} is checked: a non-null status becomes an {@link OrtNativeException}
 * carrying ORT's error message, and the status is released.
 */
public final class OrtApiShim {

    // Indices into struct OrtApi, ORT 1.29 (docs/native-kv.md).
    static final int CREATE_STATUS = 0;
    static final int GET_ERROR_CODE = 1;
    static final int GET_ERROR_MESSAGE = 2;
    static final int CREATE_TENSOR_AS_ORT_VALUE = 48;
    static final int CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE = 49;
    static final int GET_TENSOR_MUTABLE_DATA = 51;
    static final int GET_DIMENSIONS_COUNT = 61;
    static final int GET_DIMENSIONS = 62;
    static final int GET_TENSOR_TYPE_AND_SHAPE = 65;
    static final int CREATE_MEMORY_INFO = 68;
    static final int CREATE_CPU_MEMORY_INFO = 69;
    static final int MEMORY_INFO_GET_NAME = 71;
    static final int MEMORY_INFO_GET_ID = 72;
    static final int ALLOCATOR_FREE = 76;
    static final int GET_ALLOCATOR_WITH_DEFAULT_OPTIONS = 78;
    static final int RELEASE_STATUS = 93;
    static final int RELEASE_MEMORY_INFO = 94;
    static final int RELEASE_VALUE = 96;
    static final int RELEASE_TENSOR_TYPE_AND_SHAPE_INFO = 99;
    static final int CREATE_ALLOCATOR = 131;
    static final int RELEASE_ALLOCATOR = 132;
    static final int RUN_WITH_BINDING = 133;
    static final int CREATE_IO_BINDING = 134;
    static final int RELEASE_IO_BINDING = 135;
    static final int BIND_INPUT = 136;
    static final int BIND_OUTPUT = 137;
    static final int BIND_OUTPUT_TO_DEVICE = 138;
    static final int GET_BOUND_OUTPUT_VALUES = 140;
    static final int CLEAR_BOUND_INPUTS = 141;
    static final int CLEAR_BOUND_OUTPUTS = 142;
    static final int GET_TENSOR_MEMORY_INFO = 194;

    /** {@code OrtAllocatorType}: OrtDeviceAllocator = 0, OrtArenaAllocator = 1. */
    public static final int DEVICE_ALLOCATOR = 0;

    public static final int ARENA_ALLOCATOR = 1;

    /** {@code ONNXTensorElementDataType}: FLOAT = 1, INT64 = 7. */
    public static final int FLOAT = 1;

    public static final int INT64 = 7;

    /** {@code ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32}. */
    public static final int INT32 = 6;

    /** {@code OrtMemType}: OrtMemTypeDefault = 0. */
    public static final int MEM_TYPE_DEFAULT = 0;

    private static final int SLOTS = 195;

    private final Pointer api;
    private final Function[] functions = new Function[SLOTS];
    private long calls;

    private OrtApiShim(Pointer api) {
        this.api = api;
    }

    /**
     * The shim over the {@code OrtApi} table the official ORT jar uses; loads the official native
     * library first ({@code OnnxRuntime.init()}, idempotent) when nothing has yet. It deliberately
     * does not create the {@link OrtEnvironment}: DJL's engine creates it with its own thread-pool
     * options and fails if one already exists.
     */
    public static OrtApiShim fromOfficialRuntime() {
        long handle;
        try {
            Class<?> runtime = Class.forName("ai.onnxruntime.OnnxRuntime");
            java.lang.reflect.Method init = runtime.getDeclaredMethod("init");
            init.setAccessible(true);
            init.invoke(null);
            Field field = runtime.getDeclaredField("ortApiHandle");
            field.setAccessible(true);
            handle = field.getLong(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "cannot read ai.onnxruntime.OnnxRuntime.ortApiHandle (ORT jar version changed?)",
                    e);
        }
        if (handle == 0) {
            throw new IllegalStateException("ONNX Runtime's OrtApi handle is null");
        }
        return new OrtApiShim(new Pointer(handle));
    }

    /** The {@code OrtSession*} behind an official session. */
    public static Pointer session(OrtSession session) {
        return new Pointer(longField(OrtSession.class, session, "nativeHandle"));
    }

    /** The {@code OrtValue*} behind an official tensor; it stays owned by {@code value}. */
    public static Pointer value(OnnxTensorLike value) {
        return new Pointer(longField(OnnxTensorLike.class, value, "nativeHandle"));
    }

    private static long longField(Class<?> owner, Object target, String name) {
        try {
            Field field = owner.getDeclaredField(name);
            field.setAccessible(true);
            return field.getLong(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "cannot read " + owner.getName() + "." + name + " (ORT jar version changed?)",
                    e);
        }
    }

    /** Native calls made through this shim so far (a per-step overhead figure). */
    public long calls() {
        return calls;
    }

    private Function fn(int index) {
        calls++;
        Function f = functions[index];
        if (f == null) {
            Pointer p = api.getPointer((long) index * Native.POINTER_SIZE);
            if (p == null) {
                throw new IllegalStateException("OrtApi slot " + index + " is null");
            }
            f = Function.getFunction(p);
            functions[index] = f;
        }
        return f;
    }

    /** Calls a status-returning function and throws with ORT's message if it failed. */
    private void check(String what, int index, Object... args) {
        Pointer status = (Pointer) fn(index).invoke(Pointer.class, args);
        if (status != null) {
            String message;
            int code;
            try {
                message = fn(GET_ERROR_MESSAGE).invokeString(new Object[] {status}, false);
                code = fn(GET_ERROR_CODE).invokeInt(new Object[] {status});
            } finally {
                fn(RELEASE_STATUS).invokeVoid(new Object[] {status});
            }
            throw new OrtNativeException(what, code, message);
        }
    }

    /** {@code CreateStatus} then the usual check: proves the error path (tests). */
    public void failWith(int code, String message) {
        Pointer status =
                (Pointer) fn(CREATE_STATUS).invoke(Pointer.class, new Object[] {code, message});
        String read;
        int readCode;
        try {
            read = fn(GET_ERROR_MESSAGE).invokeString(new Object[] {status}, false);
            readCode = fn(GET_ERROR_CODE).invokeInt(new Object[] {status});
        } finally {
            fn(RELEASE_STATUS).invokeVoid(new Object[] {status});
        }
        throw new OrtNativeException("CreateStatus", readCode, read);
    }

    private static Pointer out(PointerByReference ref) {
        return ref.getValue();
    }

    // Memory info and allocator.

    /** {@code CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault)}. */
    public Pointer createCpuMemoryInfo() {
        PointerByReference out = new PointerByReference();
        check(
                "CreateCpuMemoryInfo",
                CREATE_CPU_MEMORY_INFO,
                ARENA_ALLOCATOR,
                MEM_TYPE_DEFAULT,
                out);
        return out(out);
    }

    /**
     * {@code CreateMemoryInfo(name, allocatorType, deviceId, OrtMemTypeDefault)}, e.g. {@code
     * ("Cuda", DEVICE_ALLOCATOR, 0)} for device-resident outputs.
     */
    public Pointer createMemoryInfo(String name, int allocatorType, int deviceId) {
        PointerByReference out = new PointerByReference();
        check(
                "CreateMemoryInfo(" + name + ")",
                CREATE_MEMORY_INFO,
                name,
                allocatorType,
                deviceId,
                MEM_TYPE_DEFAULT,
                out);
        return out(out);
    }

    public void releaseMemoryInfo(Pointer info) {
        if (info != null) {
            fn(RELEASE_MEMORY_INFO).invokeVoid(new Object[] {info});
        }
    }

    /** The default CPU allocator; owned by ORT, never released. */
    public Pointer defaultAllocator() {
        PointerByReference out = new PointerByReference();
        check("GetAllocatorWithDefaultOptions", GET_ALLOCATOR_WITH_DEFAULT_OPTIONS, out);
        return out(out);
    }

    /** {@code CreateAllocator}: the session's allocator for {@code memoryInfo} (a device's). */
    public Pointer createAllocator(Pointer session, Pointer memoryInfo) {
        PointerByReference out = new PointerByReference();
        check("CreateAllocator", CREATE_ALLOCATOR, session, memoryInfo, out);
        return out(out);
    }

    public void releaseAllocator(Pointer allocator) {
        if (allocator != null) {
            fn(RELEASE_ALLOCATOR).invokeVoid(new Object[] {allocator});
        }
    }

    public void allocatorFree(Pointer allocator, Pointer p) {
        check("AllocatorFree", ALLOCATOR_FREE, allocator, p);
    }

    // IoBinding.

    public Pointer createIoBinding(Pointer session) {
        PointerByReference out = new PointerByReference();
        check("CreateIoBinding", CREATE_IO_BINDING, session, out);
        return out(out);
    }

    public void releaseIoBinding(Pointer binding) {
        if (binding != null) {
            fn(RELEASE_IO_BINDING).invokeVoid(new Object[] {binding});
        }
    }

    public void bindInput(Pointer binding, String name, Pointer value) {
        check("BindInput(" + name + ")", BIND_INPUT, binding, name, value);
    }

    public void bindOutput(Pointer binding, String name, Pointer value) {
        check("BindOutput(" + name + ")", BIND_OUTPUT, binding, name, value);
    }

    public void bindOutputToDevice(Pointer binding, String name, Pointer memoryInfo) {
        check("BindOutputToDevice(" + name + ")", BIND_OUTPUT_TO_DEVICE, binding, name, memoryInfo);
    }

    public void clearBoundInputs(Pointer binding) {
        fn(CLEAR_BOUND_INPUTS).invokeVoid(new Object[] {binding});
    }

    public void clearBoundOutputs(Pointer binding) {
        fn(CLEAR_BOUND_OUTPUTS).invokeVoid(new Object[] {binding});
    }

    /** {@code RunWithBinding(session, NULL run options, binding)}. */
    public void runWithBinding(Pointer session, Pointer binding) {
        check("RunWithBinding", RUN_WITH_BINDING, session, null, binding);
    }

    /**
     * {@code GetBoundOutputValues}: the output {@code OrtValue*}s in binding order. The caller owns
     * each value (release with {@link #releaseValue}); the array ORT allocated with {@code
     * allocator} is freed here.
     */
    public Pointer[] boundOutputValues(Pointer binding, Pointer allocator) {
        PointerByReference array = new PointerByReference();
        LongByReference count = new LongByReference();
        check("GetBoundOutputValues", GET_BOUND_OUTPUT_VALUES, binding, allocator, array, count);
        int n = Math.toIntExact(count.getValue());
        Pointer p = array.getValue();
        if (n == 0 || p == null) {
            return new Pointer[0];
        }
        try {
            return p.getPointerArray(0, n);
        } finally {
            allocatorFree(allocator, p);
        }
    }

    // Values.

    /**
     * {@code CreateTensorAsOrtValue}: a tensor whose memory {@code allocator} allocates and the
     * value owns (released with {@link #releaseValue}); its contents are uninitialised.
     */
    public Pointer createTensor(Pointer allocator, long[] shape, int elementType) {
        PointerByReference out = new PointerByReference();
        check(
                "CreateTensorAsOrtValue",
                CREATE_TENSOR_AS_ORT_VALUE,
                allocator,
                shape,
                (long) shape.length,
                elementType,
                out);
        return out(out);
    }

    /**
     * {@code CreateTensorWithDataAsOrtValue}: a tensor over memory the caller owns and must keep
     * alive, unchanged while a run reads it, until the value is released.
     */
    public Pointer createTensorOver(
            Pointer memoryInfo, Pointer data, long bytes, long[] shape, int elementType) {
        PointerByReference out = new PointerByReference();
        check(
                "CreateTensorWithDataAsOrtValue",
                CREATE_TENSOR_WITH_DATA_AS_ORT_VALUE,
                memoryInfo,
                data,
                bytes,
                shape,
                (long) shape.length,
                elementType,
                out);
        return out(out);
    }

    public void releaseValue(Pointer value) {
        if (value != null) {
            fn(RELEASE_VALUE).invokeVoid(new Object[] {value});
        }
    }

    /** {@code GetTensorMutableData}: the address of the tensor's elements. */
    public Pointer tensorData(Pointer value) {
        PointerByReference out = new PointerByReference();
        check("GetTensorMutableData", GET_TENSOR_MUTABLE_DATA, value, out);
        return out(out);
    }

    /**
     * Where a tensor's data lives, as {@code name:deviceId} of its {@code OrtMemoryInfo} ({@code
     * GetTensorMemoryInfo}, {@code MemoryInfoGetName}, {@code MemoryInfoGetId}), e.g. {@code Cpu:0}
     * or {@code Cuda:0}.
     */
    public String location(Pointer value) {
        PointerByReference info = new PointerByReference();
        check("GetTensorMemoryInfo", GET_TENSOR_MEMORY_INFO, value, info);
        PointerByReference name = new PointerByReference();
        check("MemoryInfoGetName", MEMORY_INFO_GET_NAME, info.getValue(), name);
        com.sun.jna.ptr.IntByReference id = new com.sun.jna.ptr.IntByReference();
        check("MemoryInfoGetId", MEMORY_INFO_GET_ID, info.getValue(), id);
        return name.getValue().getString(0, "US-ASCII") + ":" + id.getValue();
    }

    /** The tensor's shape ({@code GetTensorTypeAndShape}, {@code GetDimensions}). */
    public long[] shape(Pointer value) {
        PointerByReference info = new PointerByReference();
        check("GetTensorTypeAndShape", GET_TENSOR_TYPE_AND_SHAPE, value, info);
        try {
            LongByReference count = new LongByReference();
            check("GetDimensionsCount", GET_DIMENSIONS_COUNT, info.getValue(), count);
            int n = Math.toIntExact(count.getValue());
            if (n == 0) {
                return new long[0];
            }
            Memory dims = new Memory(8L * n);
            check("GetDimensions", GET_DIMENSIONS, info.getValue(), dims, (long) n);
            return dims.getLongArray(0, n);
        } finally {
            fn(RELEASE_TENSOR_TYPE_AND_SHAPE_INFO).invokeVoid(new Object[] {info.getValue()});
        }
    }

    /** Copies {@code values} into {@code buffer}, replacing it by a larger one when needed. */
    static Memory fill(Memory buffer, long[] values) {
        long bytes = Math.max(Long.BYTES, (long) Long.BYTES * values.length);
        if (buffer == null || buffer.size() < bytes) {
            buffer = new Memory(Math.max(bytes, buffer == null ? 0 : 2 * buffer.size()));
        }
        buffer.write(0, values, 0, values.length);
        return buffer;
    }
}
