package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.finetune4j.core.backend.cuda.CHeader.Kind.F32;
import static dev.finetune4j.core.backend.cuda.CHeader.Kind.I32;
import static dev.finetune4j.core.backend.cuda.CHeader.Kind.I64;
import static dev.finetune4j.core.backend.cuda.CHeader.Kind.I8;
import static dev.finetune4j.core.backend.cuda.CHeader.Kind.POINTER;
import static dev.finetune4j.core.backend.cuda.CHeader.Kind.STRUCT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The header reader behind CudaBindingsMatchHeadersTest, on a small header written like cuda.h (needs cpp). */
class CHeaderTest {

    @Test
    void renamesTypedefsEnumsAndPointersAreResolvedAsForACProgram(@TempDir Path dir) throws Exception {
        var cpp = Tools.onPath("cpp");
        Assumptions.assumeTrue(cpp.isPresent(), "cpp is not on the PATH");
        Path header = Files.writeString(dir.resolve("api.h"), """
                #include <stddef.h>
                #define apiAlloc apiAlloc_v2
                #if defined(API_INTERNAL)
                int apiHidden(int x);
                #endif
                typedef unsigned long long devptr_v2;
                typedef devptr_v2 devptr;
                typedef int device;
                typedef struct ctx_st *context;
                typedef enum status_enum { API_OK = 0, API_OUT_OF_MEMORY = 0x2, API_NEG = -1 } status;
                typedef void (*callback)(void *user);
                status __attribute__((deprecated)) apiAlloc(devptr *out, size_t bytes);
                status apiFill(devptr dst, unsigned char value, size_t n, context c);
                status apiCall(device d, float scale, callback cb, const char * const *names);
                static inline status apiInline(int x) { return API_OK; }
                const char *apiName(status s);
                int apiNothing(void);
                """);
        CHeader h = CHeader.preprocess(cpp.get(), header, List.of());
        assertNull(h.prototype("apiAlloc"));
        assertEquals(List.of("apiAlloc_v2"), h.declaredStartingWith("apiAlloc_v"));
        assertEquals(List.of(POINTER, I64), h.prototype("apiAlloc_v2").params());
        assertEquals(I32, h.prototype("apiAlloc_v2").returns());
        assertEquals(List.of(I64, I8, I64, POINTER), h.prototype("apiFill").params());
        assertEquals(List.of(I32, F32, POINTER, POINTER), h.prototype("apiCall").params());
        assertEquals(POINTER, h.prototype("apiName").returns());
        assertEquals(List.of(), h.prototype("apiNothing").params());
        assertNull(h.prototype("apiHidden"));
        assertNull(h.prototype("apiInline"));
        assertEquals(2L, h.enumerator("API_OUT_OF_MEMORY"));
        assertEquals(-1L, h.enumerator("API_NEG"));
    }

    @Test
    void structsPassedByValueAndCamelCaseEnumeratorsAreReadAsInNcclH(@TempDir Path dir) throws Exception {
        var cpp = Tools.onPath("cpp");
        Assumptions.assumeTrue(cpp.isPresent(), "cpp is not on the PATH");
        Path header = Files.writeString(dir.resolve("comm.h"), """
                #include <stddef.h>
                #define TOKEN_BYTES 64
                typedef struct { char bytes[TOKEN_BYTES]; } token;
                typedef struct group_st *group;
                typedef enum { resultOk = 0, resultBadArgument = 4 } result;
                typedef enum { typeByte = 1, typeFloat = 7, typeBig = 0x7fffffff>>(32-8*sizeof(int)) } elementType;
                result groupJoin(group *out, int size, token id, int rank);
                result groupSend(const void *buffer, size_t count, elementType type, group g);
                """);
        CHeader h = CHeader.preprocess(cpp.get(), header, List.of());
        assertEquals(List.of(POINTER, I32, STRUCT, I32), h.prototype("groupJoin").params());
        assertEquals(List.of(POINTER, I64, I32, POINTER), h.prototype("groupSend").params());
        assertEquals(4L, h.enumerator("resultBadArgument"));
        assertEquals(7L, h.enumerator("typeFloat"));
    }
}
