/*
 * The http child's copy of an IMSG_DB_RESULT: the rows of a statement as
 * NUL-terminated text. All strings share one allocation, because a
 * summary of 1,000 positions has about 9,000 cells and a malloc(3) each
 * cost more than the rest of the decoding.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "benjid.h"
#include "db.h"

void
db_rows_free(struct db_rows *r)
{
	free(r->cells);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

const char *
db_rows_get(const struct db_rows *r, uint32_t row, uint32_t col)
{
	if (row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

/* Copies a string of the body into r->text, NUL-terminated. */
static char *
db_rows_text(struct db_rows *r, size_t *used, const char *s, size_t len)
{
	char	*out = r->text + *used;

	memcpy(out, s, len);
	out[len] = '\0';
	*used += len + 1;
	return out;
}

static void
db_rows_decode_row(struct db_rows *r, struct ipc_body *row, uint32_t i,
    size_t *used)
{
	const char	*s;
	size_t		 len;
	uint32_t	 j;

	for (j = 0; j < r->ncols; j++) {
		if (ipc_get_nil(row) == 0)
			continue;
		if (ipc_get_strp(row, &s, &len, IPC_FRAME_MAX) == -1)
			fatalx("http: malformed db result value");
		r->cells[i * r->ncols + j] = db_rows_text(r, used, s, len);
	}
	if (ipc_get_end(row) == -1)
		fatalx("http: malformed db result row");
}

/*
 * Reads rows packed by db_rows_pack: a 4-byte row count and column count,
 * big-endian, then each cell in row order, 0x00 for SQL NULL or 0x01, the
 * text and a NUL. The text is copied once, whole, and the cells point
 * into the copy.
 */
static void
db_rows_decode_packed(struct db_rows *r, const uint8_t *p, size_t len,
    size_t *used)
{
	const uint8_t	*nul;
	char		*text, *end;
	size_t		 i, ncells;

	if (len < 8)
		fatalx("http: malformed db result rows");
	r->nrows = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
	r->ncols = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
	ncells = (size_t)r->nrows * r->ncols;
	/* Each cell takes a byte at least: no count exceeds the frame. */
	if (r->nrows > IPC_OBJECTS_MAX || r->ncols > DB_ROWS_COLUMNS_MAX ||
	    ncells > len - 8)
		fatalx("http: malformed db result rows");
	if ((r->cells = calloc(ncells + 1, sizeof(char *))) == NULL)
		fatal("%s", __func__);
	text = r->text + *used;
	memcpy(text, p + 8, len - 8);
	end = text + (len - 8);
	*used += len - 8;
	for (i = 0; i < ncells; i++) {
		if (text == end || (*text != 0 && *text != 1))
			fatalx("http: malformed db result value");
		if (*text++ == 0)
			continue;
		if ((nul = memchr(text, '\0', end - text)) == NULL)
			fatalx("http: malformed db result value");
		r->cells[i] = text;
		text = (char *)nul + 1;
	}
	if (text != end)
		fatalx("http: malformed db result rows");
}

/* Reads rows sent as arrays of strings and nils. */
static void
db_rows_decode_arrays(struct db_rows *r, struct ipc_body *rows,
    size_t *used)
{
	struct ipc_body	 row;
	uint32_t	 i;

	r->nrows = rows->count;
	for (i = 0; i < r->nrows; i++) {
		if (ipc_get_array(rows, &row, DB_ROWS_COLUMNS_MAX) == -1 ||
		    (i > 0 && row.count != r->ncols))
			fatalx("http: malformed db result row");
		if (i == 0) {
			r->ncols = row.count;
			r->cells = calloc((size_t)r->nrows * r->ncols + 1,
			    sizeof(char *));
			if (r->cells == NULL)
				fatal("%s", __func__);
		}
		db_rows_decode_row(r, &row, i, used);
	}
	if (ipc_get_end(rows) == -1)
		fatalx("http: malformed db result");
}

/*
 * Decodes IMSG_DB_RESULT into r, which db_rows_free releases; a malformed
 * one is fatal, as from any sibling. Each string of n bytes takes at
 * least n + 1 bytes in the body, so the body's length bounds the text
 * with its NULs.
 */
void
db_rows_decode(struct ipc_msg *msg, struct db_rows *r)
{
	struct ipc_body	 b, rows;
	const uint8_t	*packed;
	const char	*s;
	size_t		 len, used = 0;
	uint64_t	 status;

	memset(r, 0, sizeof(*r));
	if (msg->hdr.type != IMSG_DB_RESULT || ipc_body_open(&b, msg) == -1)
		fatalx("http: malformed db result");
	if ((r->text = malloc((size_t)msg->hdr.len + 1)) == NULL)
		fatal("%s", __func__);
	if (ipc_get_u64(&b, &status, DB_FAILED) == -1 ||
	    ipc_get_strp(&b, &s, &len, 4096) == -1)
		fatalx("http: malformed db result");
	r->status = status;
	r->message = db_rows_text(r, &used, s, len);
	if (ipc_get_bin(&b, &packed, &len, IPC_FRAME_MAX) == 0)
		db_rows_decode_packed(r, packed, len, &used);
	else if (ipc_get_array(&b, &rows, IPC_OBJECTS_MAX) == 0)
		db_rows_decode_arrays(r, &rows, &used);
	else
		fatalx("http: malformed db result");
	if (ipc_get_end(&b) == -1)
		fatalx("http: malformed db result");
	ipc_body_close(&b);
}

/* Starts packing nrows rows of ncols cells for IMSG_DB_RESULT. */
void
db_rows_pack_start(struct db_rows_pack *pk, uint32_t nrows, uint32_t ncols)
{
	pk->size = 8 + (size_t)nrows * ncols * 8;
	if ((pk->buf = malloc(pk->size)) == NULL)
		fatal("%s", __func__);
	pk->buf[0] = nrows >> 24;
	pk->buf[1] = nrows >> 16;
	pk->buf[2] = nrows >> 8;
	pk->buf[3] = nrows;
	pk->buf[4] = ncols >> 24;
	pk->buf[5] = ncols >> 16;
	pk->buf[6] = ncols >> 8;
	pk->buf[7] = ncols;
	pk->len = 8;
}

/*
 * Adds the next cell: len bytes of text without a NUL, or SQL NULL when
 * text is NULL. Text with a NUL is fatal: PostgreSQL never sends one.
 */
void
db_rows_pack_cell(struct db_rows_pack *pk, const char *text, size_t len)
{
	uint8_t	*p;
	size_t	 size;

	if (text != NULL && memchr(text, '\0', len) != NULL)
		fatalx("db: invalid value from PostgreSQL: contains NUL");
	if (pk->size - pk->len < len + 2) {
		for (size = pk->size * 2; size - pk->len < len + 2; size *= 2)
			;
		if ((p = realloc(pk->buf, size)) == NULL)
			fatal("%s", __func__);
		pk->buf = p;
		pk->size = size;
	}
	if (text == NULL) {
		pk->buf[pk->len++] = 0;
		return;
	}
	pk->buf[pk->len++] = 1;
	memcpy(pk->buf + pk->len, text, len);
	pk->len += len;
	pk->buf[pk->len++] = 0;
}

/* Puts the packed rows into wb as one bin field and frees them. */
void
db_rows_pack_end(struct db_rows_pack *pk, struct ipc_wbuf *wb)
{
	ipc_put_bin(wb, pk->buf, pk->len);
	free(pk->buf);
	pk->buf = NULL;
	pk->len = pk->size = 0;
}
