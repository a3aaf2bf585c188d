//! One story through every `Store` method, told to each backend: SQLite always, PostgreSQL
//! when `IDENTITY_TEST_POSTGRES_URL` is set. Both must tell it the same way.

#[path = "common/postgres.rs"]
#[allow(
    dead_code,
    reason = "the private clusters are for the crash and outage tests"
)]
mod postgres;

use identity_server::domain::contact::{EmailAddress, PhoneNumber};
use identity_server::domain::credential::TokenHash;
use identity_server::domain::ids::{UserIdentityId, WorkspaceId};
use identity_server::domain::timestamp::Timestamp;
use identity_server::domain::user_identity::{
    FieldUpdate, NewUserIdentity, UniqueField, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};
use identity_server::store::{
    self, ListFilter, ListPosition, PageRequest, SharedStore, StoreError,
};

#[tokio::test]
async fn store_story_on_sqlite() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("story.db").display());
    story(store::connect(&url).await.expect("open SQLite")).await;
}

#[tokio::test]
async fn store_story_on_postgres() {
    let Some(admin_url) = postgres::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; run under scripts/with-postgres.sh");
        return;
    };
    let url = postgres::fresh_database(&admin_url).await;
    let store = store::connect(&url).await.expect("open PostgreSQL");
    assert!(
        store.pool_status().is_some(),
        "PostgreSQL pools connections"
    );
    // A second connect finds the schema in place and migrates nothing.
    store::connect(&url).await.expect("reopen PostgreSQL");
    story(store).await;
}

fn new_identity(n: u32) -> NewUserIdentity {
    NewUserIdentity {
        user_identity_key: Some(format!("key-{n}")),
        email_address: Some(EmailAddress::parse(&format!("person{n}@example.com")).unwrap()),
        phone_number: Some(PhoneNumber::parse(&format!("+1555000{n:04}")).unwrap()),
        full_name: Some(format!("Person Number{n}")),
    }
}

fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> UniqueField {
    match result {
        Err(StoreError::Conflict(field)) => field,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn not_found(result: Result<impl std::fmt::Debug, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

async fn story(store: SharedStore) {
    store.ping().await.expect("ping");
    assert_eq!(store.count_workspaces().await.unwrap(), 0);
    let (home, other) = workspaces(&store).await;
    credentials(&store, home, other).await;
    let jean = create_and_find(&store, home, other).await;
    uniqueness(&store, home, other, &jean).await;
    let all = list_order_and_pages(&store, home).await;
    filters(&store, home, &all).await;
    updates(&store, home, other, &jean, &all).await;
    deletes(&store, home, other, &jean).await;
}

async fn workspaces(store: &SharedStore) -> (WorkspaceId, WorkspaceId) {
    let home = store.create_first_workspace("Home").await.unwrap().unwrap();
    assert_eq!(store.create_first_workspace("Second").await.unwrap(), None);
    let other = store.create_workspace("Other").await.unwrap();
    assert_eq!(store.count_workspaces().await.unwrap(), 2);
    assert_eq!(
        store.workspace(home.workspace_id).await.unwrap(),
        Some(home.clone())
    );
    assert_eq!(
        store.workspace(WorkspaceId::new_random()).await.unwrap(),
        None
    );
    assert!(home.created_at <= Timestamp::now());
    (home.workspace_id, other.workspace_id)
}

async fn credentials(store: &SharedStore, home: WorkspaceId, other: WorkspaceId) {
    let hash = TokenHash::of_secret("api key secret");
    store
        .insert_api_key(home, "a1b2c3d4e5f6", &hash)
        .await
        .unwrap();
    let key = store.api_key("a1b2c3d4e5f6").await.unwrap().unwrap();
    assert_eq!(key.workspace_id, home);
    assert!(key.secret_hash.matches(&hash));
    assert!(store.api_key("000000000000").await.unwrap().is_none());
    not_found(
        store
            .insert_api_key(WorkspaceId::new_random(), "b1b2c3d4e5f6", &hash)
            .await,
    );
    assert!(store.api_key("b1b2c3d4e5f6").await.unwrap().is_none());

    let pat_hash = TokenHash::of_secret("pat secret");
    store
        .insert_personal_access_token("c1b2c3d4e5f6", &pat_hash, &[home, other])
        .await
        .unwrap();
    let pat = store
        .personal_access_token("c1b2c3d4e5f6")
        .await
        .unwrap()
        .unwrap();
    assert!(pat.secret_hash.matches(&pat_hash));
    let mut granted = pat.workspace_ids.clone();
    granted.sort();
    let mut expected = vec![home, other];
    expected.sort();
    assert_eq!(granted, expected);
    not_found(
        store
            .insert_personal_access_token(
                "d1b2c3d4e5f6",
                &pat_hash,
                &[home, WorkspaceId::new_random()],
            )
            .await,
    );
    assert!(
        store
            .personal_access_token("d1b2c3d4e5f6")
            .await
            .unwrap()
            .is_none(),
        "a refused token leaves nothing behind"
    );

    store.revoke_api_key("a1b2c3d4e5f6").await.unwrap();
    assert!(store.api_key("a1b2c3d4e5f6").await.unwrap().is_none());
    not_found(store.revoke_api_key("a1b2c3d4e5f6").await);
    store
        .revoke_personal_access_token("c1b2c3d4e5f6")
        .await
        .unwrap();
    assert!(
        store
            .personal_access_token("c1b2c3d4e5f6")
            .await
            .unwrap()
            .is_none()
    );
    not_found(store.revoke_personal_access_token("c1b2c3d4e5f6").await);
}

async fn create_and_find(
    store: &SharedStore,
    home: WorkspaceId,
    other: WorkspaceId,
) -> UserIdentity {
    let before = Timestamp::now();
    let jean = store
        .create_user_identity(
            home,
            NewUserIdentity {
                user_identity_key: Some("jean_doe".into()),
                email_address: Some(EmailAddress::parse("Jean.Doe@Example.com").unwrap()),
                phone_number: Some(PhoneNumber::parse("+15555550110").unwrap()),
                full_name: Some("Jean Doe".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(jean.workspace_id, home);
    assert_eq!(jean.email_address.as_deref(), Some("Jean.Doe@Example.com"));
    assert!(jean.created_at >= before && jean.created_at <= Timestamp::now());
    let id = jean.user_identity_id.as_uuid();
    assert_eq!(id.get_version_num(), 7, "ids are UUIDv7");
    assert_eq!(
        (id.as_u128() >> 80) as i64,
        jean.created_at.as_millis(),
        "the id carries created_at"
    );

    let by_id = UserIdentityLookup::Id(jean.user_identity_id);
    let by_key = UserIdentityLookup::Key("jean_doe".into());
    assert_eq!(
        store.user_identity(home, &by_id).await.unwrap(),
        Some(jean.clone())
    );
    assert_eq!(
        store.user_identity(home, &by_key).await.unwrap(),
        Some(jean.clone())
    );
    assert_eq!(store.user_identity(other, &by_id).await.unwrap(), None);
    assert_eq!(store.user_identity(other, &by_key).await.unwrap(), None);
    let unknown = UserIdentityLookup::Id(UserIdentityId::new_random());
    assert_eq!(store.user_identity(home, &unknown).await.unwrap(), None);

    let bare = store
        .create_user_identity(home, NewUserIdentity::default())
        .await
        .unwrap();
    assert_eq!(bare.user_identity_key, None);
    assert!(bare.user_identity_id > jean.user_identity_id);
    store
        .delete_user_identity(home, bare.user_identity_id)
        .await
        .unwrap();
    not_found(
        store
            .create_user_identity(WorkspaceId::new_random(), NewUserIdentity::default())
            .await,
    );
    jean
}

async fn uniqueness(
    store: &SharedStore,
    home: WorkspaceId,
    other: WorkspaceId,
    jean: &UserIdentity,
) {
    let fresh = |n: u32| new_identity(900 + n);
    let mut same_key = fresh(1);
    same_key.user_identity_key = jean.user_identity_key.clone();
    assert_eq!(
        conflict(store.create_user_identity(home, same_key.clone()).await),
        UniqueField::UserIdentityKey
    );
    let mut same_email = fresh(2);
    same_email.email_address = Some(EmailAddress::parse("jean.doe@EXAMPLE.COM").unwrap());
    assert_eq!(
        conflict(store.create_user_identity(home, same_email.clone()).await),
        UniqueField::EmailAddress
    );
    let mut same_phone = fresh(3);
    same_phone.phone_number = Some(PhoneNumber::parse("+15555550110").unwrap());
    assert_eq!(
        conflict(store.create_user_identity(home, same_phone.clone()).await),
        UniqueField::PhoneNumber
    );

    let mut key_and_email = same_email.clone();
    key_and_email.user_identity_key = jean.user_identity_key.clone();
    assert_eq!(
        conflict(
            store
                .create_user_identity(home, key_and_email.clone())
                .await
        ),
        UniqueField::EmailAddress,
        "several collisions report one field, the same on every backend"
    );
    let mut all_three = key_and_email;
    all_three.phone_number = jean
        .phone_number
        .as_deref()
        .map(|p| PhoneNumber::parse(p).unwrap());
    assert_eq!(
        conflict(store.create_user_identity(home, all_three).await),
        UniqueField::PhoneNumber
    );

    let refused = store
        .list_user_identities(
            home,
            &ListFilter::default(),
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .to_identities();
    assert_eq!(refused.len(), 1, "refused creates store nothing");

    for taken in [same_key, same_email, same_phone] {
        store
            .create_user_identity(other, taken)
            .await
            .expect("other workspaces are separate");
    }
    let mut same_key_in_batch = new_identity(802);
    same_key_in_batch.user_identity_key = Some("key-800".into());
    let duplicate_batch = vec![new_identity(800), new_identity(801), same_key_in_batch];
    assert_eq!(
        conflict(
            store
                .bulk_create_user_identities(home, duplicate_batch)
                .await
        ),
        UniqueField::UserIdentityKey
    );
}

/// Bulk-creates 60 identities after Jean and checks that pages of 7 walk the same order
/// as one big page. Returns the whole list.
async fn list_order_and_pages(store: &SharedStore, home: WorkspaceId) -> Vec<UserIdentity> {
    let batch: Vec<_> = (0..60).map(new_identity).collect();
    assert_eq!(
        store
            .bulk_create_user_identities(home, batch)
            .await
            .unwrap(),
        60
    );
    // Compacting after a bulk load changes nothing a caller can see.
    store.compact().await.unwrap();
    let everything = PageRequest {
        after: None,
        limit: 1000,
    };
    let all = store
        .list_user_identities(home, &ListFilter::default(), everything)
        .await
        .unwrap()
        .to_identities();
    assert_eq!(
        all.len(),
        61,
        "Jean and the batch; the refused batch left nothing"
    );
    for pair in all.windows(2) {
        let (a, b) = (ListPosition::of(&pair[0]), ListPosition::of(&pair[1]));
        assert!(
            (a.created_at, a.user_identity_id) < (b.created_at, b.user_identity_id),
            "list order is (created_at, id) ascending"
        );
    }

    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_user_identities(
                home,
                &ListFilter::default(),
                PageRequest { after, limit: 7 },
            )
            .await
            .unwrap()
            .to_identities();
        let Some(last) = page.last() else { break };
        after = Some(ListPosition::of(last));
        paged.extend(page);
    }
    assert_eq!(paged, all);
    all
}

async fn filters(store: &SharedStore, home: WorkspaceId, all: &[UserIdentity]) {
    let page = PageRequest {
        after: None,
        limit: 1000,
    };
    let search = |text: &str| ListFilter {
        search: Some(text.into()),
        ..ListFilter::default()
    };
    let find = |filter: ListFilter| async move {
        store
            .list_user_identities(home, &filter, page)
            .await
            .unwrap()
            .to_identities()
    };
    let keys = |rows: Vec<UserIdentity>| -> Vec<String> {
        rows.into_iter()
            .filter_map(|row| row.user_identity_key)
            .collect()
    };

    assert_eq!(keys(find(search("NUMBER42")).await), ["key-42"]);
    assert_eq!(keys(find(search("person7@EXAMPLE")).await), ["key-7"]);
    assert_eq!(keys(find(search("5550110")).await), ["jean_doe"]);
    assert_eq!(keys(find(search("JEAN.doe@")).await), ["jean_doe"]);
    assert_eq!(
        find(search("er1")).await.len(),
        11,
        "Number1 and Number10 to Number19"
    );
    let id_text = all[5].user_identity_id.to_string();
    assert_eq!(
        find(search(&id_text[24..].to_uppercase())).await,
        [all[5].clone()]
    );
    assert_eq!(
        find(search("%")).await,
        [],
        "LIKE wildcards match literally"
    );
    assert_eq!(find(search("_")).await, []);
    assert_eq!(find(search("zzzz")).await, []);
    assert_eq!(
        find(search("oe")).await.len(),
        1,
        "two-character searches work"
    );

    let searched = find(search("Number")).await;
    assert_eq!(searched.len(), 60);
    let after = Some(ListPosition::of(&searched[29]));
    let rest = store
        .list_user_identities(home, &search("Number"), PageRequest { after, limit: 1000 })
        .await
        .unwrap()
        .to_identities();
    assert_eq!(rest, searched[30..], "a search pages from the cursor");

    let picked = vec![
        all[3].user_identity_id,
        all[40].user_identity_id,
        UserIdentityId::new_random(),
    ];
    let by_ids = ListFilter {
        user_identity_ids: Some(picked),
        ..ListFilter::default()
    };
    assert_eq!(find(by_ids).await, [all[3].clone(), all[40].clone()]);
    let before = ListFilter {
        created_before: Some(all[10].created_at),
        ..ListFilter::default()
    };
    let earlier = find(before).await;
    assert!(
        earlier
            .iter()
            .all(|row| row.created_at < all[10].created_at)
    );
    assert_eq!(earlier[..], all[..earlier.len()]);
}

async fn updates(
    store: &SharedStore,
    home: WorkspaceId,
    other: WorkspaceId,
    jean: &UserIdentity,
    all: &[UserIdentity],
) {
    let patch = UserIdentityPatch {
        full_name: FieldUpdate::Set("Jean Q. Doe".into()),
        phone_number: FieldUpdate::Clear,
        ..UserIdentityPatch::default()
    };
    store
        .update_user_identity(home, jean.user_identity_id, patch)
        .await
        .unwrap();
    let by_id = UserIdentityLookup::Id(jean.user_identity_id);
    let updated = store.user_identity(home, &by_id).await.unwrap().unwrap();
    assert_eq!(updated.full_name.as_deref(), Some("Jean Q. Doe"));
    assert_eq!(updated.phone_number, None);
    assert_eq!(
        updated.email_address, jean.email_address,
        "absent fields stay"
    );
    assert_eq!(updated.created_at, jean.created_at);

    let steal = UserIdentityPatch {
        email_address: FieldUpdate::Set(EmailAddress::parse("PERSON3@example.com").unwrap()),
        ..UserIdentityPatch::default()
    };
    assert_eq!(
        conflict(
            store
                .update_user_identity(home, jean.user_identity_id, steal)
                .await
        ),
        UniqueField::EmailAddress
    );
    let steal_two = UserIdentityPatch {
        user_identity_key: FieldUpdate::Set("key-3".into()),
        email_address: FieldUpdate::Set(EmailAddress::parse("person3@example.COM").unwrap()),
        ..UserIdentityPatch::default()
    };
    assert_eq!(
        conflict(
            store
                .update_user_identity(home, jean.user_identity_id, steal_two)
                .await
        ),
        UniqueField::EmailAddress
    );
    let unchanged = store.user_identity(home, &by_id).await.unwrap().unwrap();
    assert_eq!(unchanged, updated, "a refused update changes nothing");

    let reuse_phone = UserIdentityPatch {
        phone_number: FieldUpdate::Set(PhoneNumber::parse("+15555550110").unwrap()),
        ..UserIdentityPatch::default()
    };
    store
        .update_user_identity(home, all[1].user_identity_id, reuse_phone)
        .await
        .expect("a cleared phone number is free again");
    store
        .update_user_identity(home, jean.user_identity_id, UserIdentityPatch::default())
        .await
        .expect("an empty patch on an existing identity");
    not_found(
        store
            .update_user_identity(
                home,
                UserIdentityId::new_random(),
                UserIdentityPatch::default(),
            )
            .await,
    );
    not_found(
        store
            .update_user_identity(other, jean.user_identity_id, UserIdentityPatch::default())
            .await,
    );
    let rename = UserIdentityPatch {
        full_name: FieldUpdate::Set("Nobody".into()),
        ..UserIdentityPatch::default()
    };
    not_found(
        store
            .update_user_identity(other, jean.user_identity_id, rename)
            .await,
    );
}

async fn deletes(store: &SharedStore, home: WorkspaceId, other: WorkspaceId, jean: &UserIdentity) {
    not_found(
        store
            .delete_user_identity(other, jean.user_identity_id)
            .await,
    );
    store
        .delete_user_identity(home, jean.user_identity_id)
        .await
        .unwrap();
    not_found(
        store
            .delete_user_identity(home, jean.user_identity_id)
            .await,
    );
    let by_key = UserIdentityLookup::Key("jean_doe".into());
    assert_eq!(store.user_identity(home, &by_key).await.unwrap(), None);
    let mut reuse = new_identity(999);
    reuse.user_identity_key = jean.user_identity_key.clone();
    store
        .create_user_identity(home, reuse)
        .await
        .expect("a deleted identity's key is free again");
}
