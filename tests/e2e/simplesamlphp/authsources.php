<?php

/*
 * Authentication sources for samljit's end-to-end tests: a fixed set of users with the
 * attributes the image-CDN product's SAML app receives (see DEVELOPERS.md / issue 5).
 * The passwords are test fixtures, not secrets.
 *
 * ada and ada-promoted are the same person (same email) as the IdP sees her before and
 * after an administrator changes her role and name: logging in as one, then the other,
 * is a role change for samljit.
 */

$config = [
    'admin' => [
        'core:AdminPassword',
    ],

    'samljit-users' => [
        'exampleauth:UserPass',

        'ada:ada-password' => [
            'uid' => ['ada'],
            'email' => ['ada@acme.test'],
            'full_name' => ['Ada Lovelace'],
            'role' => ['developer'],
            'imagekit_id' => ['acme'],
        ],
        'ada-promoted:ada-password' => [
            'uid' => ['ada'],
            'email' => ['ada@acme.test'],
            'full_name' => ['Ada King, Countess of Lovelace'],
            'role' => ['account_administrator'],
            'imagekit_id' => ['acme'],
        ],
        'grace:grace-password' => [
            'uid' => ['grace'],
            'email' => ['Grace.Hopper@Acme.test'],
            'full_name' => ['Grace Hopper'],
            'role' => ['account_administrator'],
            'imagekit_id' => ['acme'],
        ],
        'mallory:mallory-password' => [
            'uid' => ['mallory'],
            'email' => ['mallory@globex.test'],
            'full_name' => ['Mallory Globex'],
            'role' => ['developer'],
            'imagekit_id' => ['globex'],
        ],
    ],
];
