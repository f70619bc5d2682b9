/// The OpenAPI document served at `/openapi.yaml` (kept identical to
/// `openapi.yaml` at the repository root; a test checks it).
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.0.3
info:
  title: Callsign STIR/SHAKEN API (ATIS-1000082)
  version: 0.1.0
  description: >
    STI-AS signing and STI-VS verification over REST as in ATIS-1000082.
    Verification failures are 200 responses carrying verstat, reasoncode and
    reasontext; HTTP 4xx/5xx are API errors in the requestError envelope.
paths:
  /stir/v1/signing:
    post:
      summary: Sign a call (STI-AS). Requires an API token.
      security: [{bearer: []}]
      parameters:
        - {name: X-RequestID, in: header, required: false, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SigningRequestEnvelope'}
      responses:
        '200':
          description: Signed; the attestation actually used is returned.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SigningResponseEnvelope'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '405': {$ref: '#/components/responses/Error'}
        '406': {$ref: '#/components/responses/Error'}
        '411': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '415': {$ref: '#/components/responses/Error'}
        '500': {$ref: '#/components/responses/Error'}
  /stir/v1/verification:
    post:
      summary: Verify an Identity header (STI-VS).
      parameters:
        - {name: X-RequestID, in: header, required: false, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/VerificationRequestEnvelope'}
      responses:
        '200':
          description: The verdict (passed or failed).
          content:
            application/json:
              schema: {$ref: '#/components/schemas/VerificationResponseEnvelope'}
        '400': {$ref: '#/components/responses/Error'}
        '405': {$ref: '#/components/responses/Error'}
        '406': {$ref: '#/components/responses/Error'}
        '411': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '415': {$ref: '#/components/responses/Error'}
  /traceback:
    get:
      summary: Calls signed with an origid (admin token).
      security: [{bearer: []}]
      parameters:
        - {name: origid, in: query, required: true, schema: {type: string, format: uuid}}
        - {name: since, in: query, required: false, schema: {type: integer}}
        - {name: until, in: query, required: false, schema: {type: integer}}
      responses:
        '200':
          description: Matching calls, newest first.
          content:
            application/json:
              schema:
                type: object
                properties:
                  calls:
                    type: array
                    items: {$ref: '#/components/schemas/SignedCall'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
  /admin/calls:
    get:
      summary: Both sides' call records presenting a calling number (admin token); CSV with Accept text/csv.
      security: [{bearer: []}]
      parameters:
        - {name: number, in: query, required: true, schema: {type: string}}
        - {name: since, in: query, required: false, description: 'Seconds since the epoch or UTC as 2026-12-07T14:02:00Z', schema: {type: string}}
        - {name: until, in: query, required: false, schema: {type: string}}
        - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 10000}}
      responses:
        '200':
          description: Signed, refused and verified calls (kind), newest first.
          content:
            application/json:
              schema:
                type: object
                properties:
                  number: {type: string}
                  calls: {type: array, items: {type: object}}
            text/csv:
              schema: {type: string}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
  /admin/alerts:
    get:
      summary: Alerts of the signals' triggers, newest first (admin token).
      security: [{bearer: []}]
      parameters:
        - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 10000}}
      responses:
        '200':
          description: Alerts.
          content:
            application/json:
              schema:
                type: object
                properties:
                  alerts:
                    type: array
                    items:
                      type: object
                      required: [signal, key, count, threshold, window_s, mode, at]
                      properties:
                        signal: {type: string, enum: [one-number-many-origins, one-source-many-numbers, failure-share, attestation-c-share, unsigned-national-share, policy-hits]}
                        key: {type: string}
                        count: {type: integer}
                        threshold: {type: integer}
                        window_s: {type: integer}
                        mode: {type: string, enum: [report, block]}
                        at: {type: integer}
        '401': {$ref: '#/components/responses/Error'}
  /healthz:
    get:
      summary: Liveness.
      responses:
        '200': {description: OK}
  /metrics:
    get:
      summary: Prometheus metrics.
      responses:
        '200': {description: Metrics in the Prometheus text format}
  /certs/{name}:
    get:
      summary: The lab certificate repository (x5u chains and CRLs).
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: PEM chain or DER CRL}
        '404': {$ref: '#/components/responses/Error'}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  responses:
    Error:
      description: API error (ATIS-1000082 requestError envelope)
      content:
        application/json:
          schema: {$ref: '#/components/schemas/RequestError'}
  schemas:
    TN: {type: string, pattern: '^[0-9*#+().\- ]{1,32}$'}
    SigningRequestEnvelope:
      type: object
      required: [signingRequest]
      properties:
        signingRequest:
          type: object
          required: [attest, dest, iat, orig, origid]
          properties:
            attest: {type: string, enum: [A, B, C]}
            dest:
              type: object
              required: [tn]
              properties:
                tn: {type: array, minItems: 1, maxItems: 32, items: {$ref: '#/components/schemas/TN'}}
            iat: {type: integer}
            orig:
              type: object
              required: [tn]
              properties:
                tn: {$ref: '#/components/schemas/TN'}
            origid: {type: string, format: uuid}
    SigningResponseEnvelope:
      type: object
      properties:
        signingResponse:
          type: object
          required: [identity]
          properties:
            identity: {type: string}
            attest: {type: string, enum: [A, B, C]}
            origid: {type: string, format: uuid}
    VerificationRequestEnvelope:
      type: object
      required: [verificationRequest]
      properties:
        verificationRequest:
          type: object
          required: [from, to, time, identity]
          properties:
            from:
              type: object
              required: [tn]
              properties:
                tn: {$ref: '#/components/schemas/TN'}
            to:
              type: object
              required: [tn]
              properties:
                tn: {type: array, minItems: 1, items: {$ref: '#/components/schemas/TN'}}
            time: {type: integer}
            identity: {type: string}
    VerificationResponseEnvelope:
      type: object
      properties:
        verificationResponse:
          type: object
          required: [verstat]
          properties:
            verstat: {type: string, enum: [TN-Validation-Passed, TN-Validation-Failed, No-TN-Validation]}
            attest: {type: string, enum: [A, B, C]}
            origid: {type: string}
            reasoncode: {type: integer}
            reasontext: {type: string}
            reasondesc: {type: string}
    SignedCall:
      type: object
      properties:
        time: {type: integer}
        orig: {type: string}
        dest: {type: array, items: {type: string}}
        attest: {type: string}
        origid: {type: string}
        customer: {type: string}
        trunk: {type: string, nullable: true}
        identity: {type: string, nullable: true, description: 'The signing identity (service, or customer:ID)'}
        attestation_rule: {type: string, nullable: true}
        x5u: {type: string, nullable: true, description: "The signing certificate's x5u"}
        spc: {type: string, nullable: true, description: "The signing certificate's SPC (TNAuthList)"}
        policy:
          type: object
          properties:
            action: {type: string, enum: [allow, tag, block]}
            rule: {type: string, nullable: true}
    RequestError:
      type: object
      properties:
        requestError:
          type: object
          properties:
            serviceException: {$ref: '#/components/schemas/Exception'}
            policyException: {$ref: '#/components/schemas/Exception'}
    Exception:
      type: object
      required: [messageId, text]
      properties:
        messageId: {type: string}
        text: {type: string}
        variables: {type: array, items: {type: string}}
"""#
}
