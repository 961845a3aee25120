/*
 * The secrets child: holds the API keys and actuator credentials and
 * answers only whether a presented credential is valid. It has no network
 * and no files; its filter is the smallest.
 *
 * It keeps keyed BLAKE2b digests, not the values: the parent's values are
 * hashed as they arrive and the received frame is zeroed. A check hashes
 * the presented value with the same random key and compares fixed-size
 * digests with crypto_verify_32(), so the time taken depends neither on
 * where a wrong value differs nor on the length of the stored one. The
 * store is sodium_malloc() memory that is no-access outside the event
 * loop pass that runs a batch of checks.
 */

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "benjid.h"

#define SECRETS_DIGEST_LEN	32	/* crypto_verify_32 compares this */
/* The longest credential the http child sends; it rejects longer ones. */
#define SECRETS_PRESENTED_MAX	4096

enum secrets_source {
	SECRETS_FROM_ENV = 0,
	SECRETS_FROM_FILE,
	SECRETS_SOURCES
};

struct secrets_store {
	uint8_t	 hashkey[crypto_generichash_KEYBYTES];
	uint8_t	 keys[SECRETS_SOURCES][SECRETS_KEYS_MAX][SECRETS_DIGEST_LEN];
	uint8_t	 key_used[SECRETS_SOURCES][SECRETS_KEYS_MAX];
	uint8_t	 user[SECRETS_DIGEST_LEN];
	uint8_t	 password[SECRETS_DIGEST_LEN];
	uint8_t	 have_user;
	uint8_t	 have_password;
};

static struct secrets_store	*store;
static int			 store_open;
static struct event		*store_close_ev;

static void
secrets_digest(uint8_t *out, const uint8_t *value, size_t len)
{
	if (crypto_generichash(out, SECRETS_DIGEST_LEN, value, len,
	    store->hashkey, sizeof(store->hashkey)) != 0)
		fatalx("secrets: crypto_generichash failed");
}

/* Returns 1 when a and b are equal, 0 otherwise, in constant time. */
static unsigned int
secrets_equal(const uint8_t *a, const uint8_t *b)
{
	return (unsigned int)(crypto_verify_32(a, b) + 1);
}

static void
secrets_close_cb(evutil_socket_t fd, short events, void *arg)
{
	store_open = 0;
	if (sodium_mprotect_noaccess(store) == -1)
		fatal("secrets: mprotect");
}

/*
 * Makes the store readable until the end of this pass of the event loop.
 * The checks of one batch of frames from http then share one pair of
 * mprotect calls, which cost the secrets child more than the checks.
 */
static void
secrets_open_for_pass(void)
{
	if (store_open)
		return;
	if (sodium_mprotect_readonly(store) == -1)
		fatal("secrets: mprotect");
	store_open = 1;
	event_active(store_close_ev, EV_TIMEOUT, 0);
}

static void
secrets_init(struct privsep *ps)
{
	/* sodium_init seeds its generator; later it only calls getrandom. */
	if (sodium_init() < 0)
		fatalx("secrets: sodium_init failed");
	if ((store = sodium_malloc(sizeof(*store))) == NULL)
		fatal("secrets: sodium_malloc");
	sodium_memzero(store, sizeof(*store));
	randombytes_buf(store->hashkey, sizeof(store->hashkey));

	/* sodium_malloc ignores a failed mlock; say so once. */
	if (sodium_mlock(store, sizeof(*store)) == -1)
		log_warn("secrets: mlock failed, so the secrets may be "
		    "swapped out; raise RLIMIT_MEMLOCK (LimitMEMLOCK=)");
	if (sodium_mprotect_noaccess(store) == -1)
		fatal("secrets: mprotect");
	if ((store_close_ev = event_new(ps->base, -1, 0, secrets_close_cb,
	    NULL)) == NULL)
		fatalx("secrets: event_new failed");
}

static void
secrets_readwrite(void)
{
	if (sodium_mprotect_readwrite(store) == -1)
		fatal("secrets: mprotect");
}

static void
secrets_noaccess(void)
{
	if (sodium_mprotect_noaccess(store) == -1)
		fatal("secrets: mprotect");
}

/* Reads a list of keys into one source, or keeps it when the field is nil. */
static int
secrets_take_keys(struct ipc_body *b, enum secrets_source source)
{
	struct ipc_body	 list;
	const uint8_t	*value;
	size_t		 len;
	uint32_t	 i;

	if (ipc_get_nil(b) == 0)
		return 0;
	if (ipc_get_array(b, &list, SECRETS_KEYS_MAX) == -1)
		return -1;
	sodium_memzero(store->keys[source], sizeof(store->keys[source]));
	sodium_memzero(store->key_used[source],
	    sizeof(store->key_used[source]));
	for (i = 0; i < list.count; i++) {
		if (ipc_get_bin(&list, &value, &len, SECRETS_VALUE_MAX) == -1)
			return -1;
		secrets_digest(store->keys[source][i], value, len);
		store->key_used[source][i] = 1;
	}
	return ipc_get_end(&list);
}

/* An empty value removes the credential; nil keeps it. */
static int
secrets_take_credential(struct ipc_body *b, uint8_t *digest, uint8_t *have)
{
	const uint8_t	*value;
	size_t		 len;

	if (ipc_get_nil(b) == 0)
		return 0;
	if (ipc_get_bin(b, &value, &len, SECRETS_VALUE_MAX) == -1)
		return -1;
	if (len == 0) {
		sodium_memzero(digest, SECRETS_DIGEST_LEN);
		*have = 0;
	} else {
		secrets_digest(digest, value, len);
		*have = 1;
	}
	return 0;
}

static void
secrets_dispatch_config(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	int		 rc;

	secrets_readwrite();
	rc = ipc_body_open(&b, msg) == -1 ||
	    secrets_take_keys(&b, SECRETS_FROM_ENV) == -1 ||
	    secrets_take_keys(&b, SECRETS_FROM_FILE) == -1 ||
	    secrets_take_credential(&b, store->user, &store->have_user) == -1 ||
	    secrets_take_credential(&b, store->password,
	    &store->have_password) == -1 ||
	    ipc_get_end(&b) == -1;
	ipc_body_close(&b);
	secrets_noaccess();
	store_open = 0;
	if (rc)
		fatalx("secrets: malformed secrets message from parent");
	log_debug("secrets: took the secrets");
}

static void
secrets_reply(struct privsep *ps, struct ipc_msg *msg, unsigned int valid)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 1);
	ipc_put_bool(&wb, valid != 0);
	proc_compose(ps, PROC_HTTP, IMSG_SECRETS_RESULT, msg->hdr.peerid, -1,
	    &wb);
}

/* Compares a presented API key with every stored slot, used or not. */
static void
secrets_dispatch_check_key(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	const uint8_t	*value;
	uint8_t		 digest[SECRETS_DIGEST_LEN];
	unsigned int	 valid = 0, s, i;
	size_t		 len;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_bin(&b, &value, &len, SECRETS_PRESENTED_MAX) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("secrets: malformed key check from %s",
		    proc_name(peer));

	secrets_open_for_pass();
	secrets_digest(digest, value, len);
	for (s = 0; s < SECRETS_SOURCES; s++)
		for (i = 0; i < SECRETS_KEYS_MAX; i++)
			valid |= store->key_used[s][i] &
			    secrets_equal(digest, store->keys[s][i]);

	ipc_body_close(&b);
	sodium_memzero(digest, sizeof(digest));
	secrets_reply(ps, msg, valid);
}

/* Both parts are compared every time, so timing shows neither. */
static void
secrets_dispatch_check_basic(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	const uint8_t	*user, *password;
	uint8_t		 du[SECRETS_DIGEST_LEN], dp[SECRETS_DIGEST_LEN];
	unsigned int	 valid;
	size_t		 ulen, plen;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_bin(&b, &user, &ulen, SECRETS_PRESENTED_MAX) == -1 ||
	    ipc_get_bin(&b, &password, &plen, SECRETS_PRESENTED_MAX) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("secrets: malformed credential check from %s",
		    proc_name(peer));

	secrets_open_for_pass();
	secrets_digest(du, user, ulen);
	secrets_digest(dp, password, plen);
	valid = store->have_user & store->have_password &
	    secrets_equal(du, store->user) & secrets_equal(dp, store->password);

	ipc_body_close(&b);
	sodium_memzero(du, sizeof(du));
	sodium_memzero(dp, sizeof(dp));
	secrets_reply(ps, msg, valid);
}

static void
secrets_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	exit(0);
}

static const struct privsep_handler secrets_dispatch_parent[] = {
	{ IMSG_CTL_CONFIG_SECRETS,	secrets_dispatch_config },
	{ 0,				NULL }
};

/* Only checks: any other message from http is fatal, as in a monitor. */
static const struct privsep_handler secrets_dispatch_http[] = {
	{ IMSG_SECRETS_CHECK_KEY,	secrets_dispatch_check_key },
	{ IMSG_SECRETS_CHECK_BASIC,	secrets_dispatch_check_basic },
	{ 0,				NULL }
};

const struct privsep_proc secrets_proc = {
	.name =		"secrets",
	.id =		PROC_SECRETS,
	.init =		secrets_init,
	.shutdown =	secrets_shutdown,
	.handlers = {
		[PROC_PARENT] =	secrets_dispatch_parent,
		[PROC_HTTP] =	secrets_dispatch_http,
	},
};
