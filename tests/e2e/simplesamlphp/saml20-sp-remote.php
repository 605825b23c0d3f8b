<?php

/*
 * samljit as SimpleSAMLphp sees it: the SP entries of the end-to-end tests, written by hand
 * as an IdP administrator would. The ACS URLs are never served: the tests stop at
 * SimpleSAMLphp's auto-submitting form and hand its fields to samljit directly.
 * Keep in step with tests/e2e/conftest.py (SP_* constants).
 */

$samljitAttributes = ['email', 'full_name', 'role', 'imagekit_id'];

// Assertion signed, Response not: what Entra ID and AD FS do by default.
$metadata['https://sp.samljit.test/acme'] = [
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme/acs',
            'index' => 0,
        ],
    ],
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'attributes' => $samljitAttributes,
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => false,
];

// Both the Response and its Assertion signed.
$metadata['https://sp.samljit.test/acme-signed-response'] = [
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme-signed-response/acs',
            'index' => 0,
        ],
    ],
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'attributes' => $samljitAttributes,
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => true,
];

// The Response signed, its Assertion not: Keycloak's default ("Sign documents").
$metadata['https://sp.samljit.test/acme-response-only'] = [
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme-response-only/acs',
            'index' => 0,
        ],
    ],
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'attributes' => $samljitAttributes,
    'saml20.sign.assertion' => false,
    'saml20.sign.response' => true,
];

// Single Logout by the HTTP-POST binding only: SimpleSAMLphp sends its LogoutRequests and
// LogoutResponses to this SP as auto-submitting forms with an enveloped XML signature.
// 'certificate' is the SP's signing certificate (sp.crt, written by tests/e2e/conftest.py):
// SimpleSAMLphp verifies the SP's AuthnRequests and logout messages with it.
$metadata['https://sp.samljit.test/acme-post-logout'] = [
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme-post-logout/acs',
            'index' => 0,
        ],
    ],
    'SingleLogoutService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme-post-logout/slo',
        ],
    ],
    'certificate' => 'sp.crt',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'attributes' => $samljitAttributes,
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => true,
];

// An IdP misconfigured not to sign its logout messages to this SP ('sign.logout' => false
// overrides the IdP's 'redirect.sign'): samljit must refuse them.
$metadata['https://sp.samljit.test/acme-unsigned-logout'] = [
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'http://127.0.0.1:9/sso/acme-unsigned-logout/acs',
            'index' => 0,
        ],
    ],
    'SingleLogoutService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
            'Location' => 'http://127.0.0.1:9/sso/acme-unsigned-logout/slo',
        ],
    ],
    'certificate' => 'sp.crt',
    'sign.logout' => false,
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'attributes' => $samljitAttributes,
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => true,
];
