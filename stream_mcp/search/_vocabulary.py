"""Chat-domain vocabulary: what people say versus the words Stream's catalog uses.

Kept as plain data so a reviewer can read the domain knowledge in one place; ``search.py``
compiles it. Entries are general chat concepts, not copies of any test query.

``EQUIVALENTS`` are groups of phrases that mean the same thing: a query containing one of them
is also searched for the others, at a reduced weight. ``IMPLIES`` is one-way: a casual or
colloquial phrase (left) points at how the catalog describes the concept (right); the reverse
would add noise (a query about removing members is not about "kicking"). In triggers, the word
"someone" stands for any name the catalog does not know ("remove bob from …").

The moderation verbs are deliberately kept apart, because they are different operations:
ban (a moderator stops a user posting, app-wide or in one channel, optionally for a while),
mute (I stop being notified about a user or channel), block (I stop a user contacting me),
flag (I report a message or user to the moderators) and blocklist (a list of banned words).
"""

from __future__ import annotations

EQUIVALENTS: tuple[tuple[str, ...], ...] = (
    # conversations
    ("dm", "direct message", "distinct channel", "one on one", "1 1", "private chat", "directly"),
    ("channel", "conversation", "chat room", "room"),
    ("all", "every", "each"),
    ("member", "participant"),
    ("segment member", "segment target", "audience member"),
    ("message", "msg"),
    ("reaction", "react", "emoji reaction"),
    ("thread", "reply thread"),
    ("reply", "thread reply", "answer"),
    ("typing indicator", "typing event", "is typing"),
    ("unread", "unseen", "badge"),
    ("hide", "hidden"),
    ("truncate", "clear history", "wipe history", "empty channel"),
    ("freeze", "frozen", "lock channel"),
    ("unfreeze", "freeze"),
    ("invite", "invitation"),
    ("moderator", "mod"),
    ("archive", "archived"),
    ("pin", "pinned"),
    ("unpin", "pin"),
    ("unarchive", "archive"),
    ("draft", "unsent"),
    ("reminder", "remind me", "save for later", "saved for later"),
    ("translate", "translation", "language"),
    ("link preview", "open graph", "og", "unfurl", "url preview"),
    ("detail", "info", "information"),
    ("edit history", "message history", "previous version"),
    ("undelete", "restore deleted", "recover deleted"),
    # moderation
    ("ban", "banned", "timeout", "suspend from chat"),
    ("unban", "lift ban", "remove ban"),
    ("shadow ban", "shadow banned", "shadowban"),
    ("flag", "report", "flagged", "reported"),
    ("mute", "silence", "muted"),
    ("block", "blocked user"),
    ("blocklist", "block list", "banned words", "word list", "profanity filter", "blocked words"),
    # users and people
    ("user", "person", "people", "account"),
    ("guest", "anonymous", "visitor"),
    ("deactivate", "disable account", "suspend account"),
    ("reactivate", "re enable", "reenable"),
    ("online", "presence", "last active"),
    ("user group", "user team"),
    ("live location", "location sharing", "share location", "gps"),
    ("gdpr", "personal data", "right to be forgotten"),
    # files
    ("image", "photo", "picture", "jpg", "png", "jpeg"),
    ("file", "document", "pdf", "attachment", "spreadsheet"),
    ("upload", "attach"),
    # polls
    ("poll", "survey"),
    ("vote", "ballot"),
    # push and devices
    ("push", "push notification", "notification"),
    ("device", "phone", "iphone", "android phone", "device token"),
    ("apns", "apple push", "ios push"),
    ("firebase", "fcm", "android push"),
    # app configuration
    ("app settings", "app configuration", "app config"),
    ("rate limit", "quota", "throttle"),
    ("retention", "retention policy", "auto delete", "expire old"),
    ("role", "user role"),
    ("permission", "grant", "access right"),
    ("slash command", "command"),
    ("giphy", "gif"),
    ("predefined filter", "saved filter", "filter template"),
    ("tenant", "team"),
    ("usage", "statistics", "stats"),
    # campaigns, imports, tasks
    ("campaign", "broadcast", "bulk message", "blast", "mass message"),
    ("segment", "audience"),
    ("import", "migrate", "migration"),
    ("external storage", "s3 bucket", "bucket"),
    ("task", "job", "background task", "async task"),
    ("export", "download", "data dump"),
    # realtime: Stream calls subscribing to a channel's events "watching" it
    ("watch", "subscribe", "listen for events", "realtime updates"),
)

# Multi-word idioms whose words mislead on their own; the request is read with the plain verb
# instead ("kick off the campaign" starts it and kicks nobody out).
IDIOMS: tuple[tuple[str, str], ...] = (
    ("kick off", "start"),
    ("get rid of", "delete"),
    ("fire off", "send"),
    ("sign up", "register"),
)

IMPLIES: tuple[tuple[str, str], ...] = (
    # membership
    ("kick", "remove member"),
    ("boot", "remove member"),
    ("eject", "remove member"),
    ("leave", "remove member"),
    ("join", "add member"),
    ("moderator", "channel member role"),
    ("invite", "add member"),
    # a name ("bob") reads as "someone": adding someone to a thing makes them its member
    ("add someone to", "add member"),
    ("remove someone from", "remove member"),
    # conversations and messages
    ("dm", "distinct channel member"),
    ("conversation with someone", "distinct channel member"),
    ("chat with someone", "distinct channel member"),
    ("clear unread", "mark read"),
    ("reply to", "send message"),
    ("direct message", "distinct channel member"),
    ("typing", "send event"),
    ("custom event", "send event"),
    ("like", "reaction"),
    ("unlike", "delete reaction"),
    ("thumbs up", "reaction"),
    ("thumbs down", "reaction"),
    ("heart", "reaction"),
    ("emoji", "reaction"),
    ("react", "reaction"),
    ("pin conversation", "member pinned"),
    ("pin chat", "member pinned"),
    ("pin channel", "member pinned"),
    ("unpin channel", "member pinned"),
    ("archive", "member archived"),
    ("unarchive", "member archived"),
    ("rename", "update name"),
    ("read receipt", "mark read"),
    ("delivery receipt", "mark delivered"),
    ("delivered", "mark delivered"),
    ("seen", "mark read"),
    ("giphy", "message action"),
    ("shuffle", "message action giphy"),
    ("fix typo", "update message text"),
    ("say", "send message"),
    ("tell", "send message"),
    ("post", "send message"),
    ("write", "send message"),
    ("announce", "send message"),
    ("wipe", "truncate"),
    # moderation
    ("timeout", "ban timeout"),
    ("shadow ban", "ban"),
    ("report", "flag"),
    ("silence", "mute"),
    ("stop notification", "mute"),
    ("profanity", "blocklist"),
    ("swear", "blocklist"),
    # users
    ("who is in", "member"),
    ("online", "query user"),
    ("display name", "update user name"),
    ("avatar", "image"),
    ("make admin", "update user role"),
    ("admin", "role"),
    ("gdpr", "export user delete user"),
    ("sign up", "create user"),
    ("visitor", "guest"),
    # push
    ("ios", "apns"),
    ("iphone", "apns device"),
    ("android", "firebase device"),
    ("huawei", "push provider"),
    ("xiaomi", "push provider"),
    ("notify", "push notification"),
    # app
    ("webhook", "app settings"),
    ("multi tenancy", "app settings multi tenant"),
    ("sns", "check sns"),
    ("sqs", "check sqs"),
    ("older than", "retention"),
    ("tenant", "team usage"),
)

# The kind of action a request asks for. Stream's ids start with a verb (GetX, ListX, DeleteX),
# but these verbs are so common that BM25 gives them little weight; the index boosts the
# operations whose verb agrees with the request's. Pinning, archiving, freezing and renaming
# are all done in Stream by updating a message, membership or channel.
ACTION_WORDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    # "start a poll" creates one; StartCampaign still agrees through its own verb "start"
    (("create",), ("create", "add", "new", "make", "register", "define", "set up", "start")),
    (
        ("delete",),
        ("delete", "remove", "discard", "drop", "erase", "unregister", "destroy", "purge"),
    ),
    (
        ("update",),
        (
            "update", "edit", "change", "modify", "rename", "replace", "patch", "configure",
            "set", "turn on", "turn off", "enable", "disable", "upsert", "pin", "unpin",
            "archive", "unarchive", "freeze", "unfreeze",
        ),
    ),
    (("read",), ("get", "fetch", "look up", "inspect", "detail")),
    # adding someone to a channel or group changes it, or creates a membership
    (("create", "update"), ("add someone to",)),
    (("delete", "update"), ("remove someone from",)),
    (("read", "list"), ("show", "view", "see", "display")),
    (("list",), ("list", "query", "find", "search", "browse")),
)  # fmt: skip
# A request that opens with a question ("is bob online?", "who reacted?", "does the segment
# include 7?") asks to read. Plain "how" is left out: "how do I ban bob" asks to ban.
QUESTION_WORDS: tuple[str, ...] = (
    "is", "are", "was", "were", "am", "what", "whats", "which", "who", "whom", "whose", "where",
    "wheres", "when", "does", "do", "did", "has", "have", "can", "how many", "how much",
    "how long", "how often",
)  # fmt: skip
# Openers that make a command polite rather than a question: "can you ban bob", "please …".
POLITE_WORDS: frozenset[str] = frozenset({"please", "pls", "plz", "kindly", "hey", "ok", "okay"})
POLITE_MODALS: frozenset[str] = frozenset({"can", "could", "would", "will"})
QUESTION_ACTIONS: tuple[str, ...] = ("read", "list")
# Bulk operations say so in their curated summary ("Delete several channels at once"); a
# request asks for one with a cue like these, or a count ("for 100 users"). Without a cue the
# single-item operation is the better answer ("freeze the channel" is not a batch update).
# "all" is a cue only before a plural ("all my channels"), not in "all data for alice".
BULK_MARKERS: tuple[str, ...] = (
    "several", "many", "every", "bulk", "batch", "at once", "in one call",
)  # fmt: skip
BULK_CUES: tuple[str, ...] = (
    "bulk", "batch", "at once", "in one go", "in one call", "in one request", "in a single call",
    "several", "many", "multiple", "mass", "en masse", "every", "lots of",
)  # fmt: skip
# After a read verb, these ask for a list ("show every permission").
QUANTIFIERS: tuple[str, ...] = ("all", "every", "each")
# Words of operation ids that say *how* rather than *what*; a request need not mention them.
ID_QUALIFIERS: frozenset[str] = frozenset({"partial", "or", "create", "many", "batch", "v2"})

# An operation's action, from the first word of its id.
OPERATION_ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("get", ("read",)),
    ("list", ("list",)),
    ("query", ("list",)),
    ("search", ("list",)),
    ("create", ("create",)),
    ("add", ("create",)),
    ("upsert", ("create", "update")),
    ("delete", ("delete",)),
    ("remove", ("delete",)),
    ("update", ("update",)),
    ("set", ("update",)),
    ("exists", ("read",)),
)

# A request's leading verb, as the verb Stream's ids use for it ("report this" → flag).
VERB_ALIASES: tuple[tuple[str, str], ...] = (
    ("vote", "cast"),
    ("report", "flag"),
    ("post", "send"),
    ("say", "send"),
    ("write", "send"),
    ("reply", "send"),
    ("tell", "send"),
    ("react", "send"),
    ("like", "send"),
    ("kick", "update"),
    ("invite", "update"),
    ("leave", "update"),
    ("join", "update"),
    ("silence", "mute"),
    ("unhide", "show"),
    ("launch", "start"),
    ("halt", "stop"),
    ("recover", "restore"),
)
