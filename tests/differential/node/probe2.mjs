import { runSimulation } from '@cloud-copilot/iam-simulate';
const sim={request:{principal:'arn:aws:iam::111122223333:user/orders',action:'sqs:SendMessage',resource:{resource:'arn:aws:sqs:us-east-1:111122223333:orders',accountId:'111122223333'},contextVariables:{'aws:username':'orders'}},
   identityPolicies:[{name:'p',policy:{Version:'2012-10-17',Statement:[{Effect:'Allow',Action:'sqs:SendMessage',Resource:'arn:aws:sqs:us-east-1:111122223333:${aws:username}*'}]}}],serviceControlPolicies:[],resourceControlPolicies:[]};
const r=await runSimulation(sim,{});
console.log(JSON.stringify(r.result.analysis.identityAnalysis.unmatchedStatements.map(s=>s.explain),null,1), r.result.ignoredContextKeys);
